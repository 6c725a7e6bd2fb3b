// The peer of `bwma bench data`: libjpeg-turbo's own TurboJPEG API decoding the same files to RGB, one thread,
// files read from disk each time as bwma does. Build: cc -O2 bench/jpeg_decode.c -lturbojpeg -o /tmp/jpeg_decode
// Usage: jpeg_decode ROUNDS FILE...   Prints images/s.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <turbojpeg.h>

static unsigned char *read_file(const char *path, unsigned long *size) {
    FILE *f = fopen(path, "rb");
    if (!f) { perror(path); exit(1); }
    fseek(f, 0, SEEK_END);
    *size = (unsigned long)ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *buf = malloc(*size);
    if (fread(buf, 1, *size, f) != *size) { perror(path); exit(1); }
    fclose(f);
    return buf;
}

int main(int argc, char **argv) {
    if (argc < 3) { fprintf(stderr, "usage: %s ROUNDS FILE...\n", argv[0]); return 2; }
    int rounds = atoi(argv[1]), files = argc - 2;
    tjhandle tj = tjInitDecompress();
    unsigned char *out = malloc(8192 * 8192 * 3);
    struct timespec a, b;
    for (int r = -1; r < rounds; r++) {  // round -1 warms the page cache
        if (r == 0) clock_gettime(CLOCK_MONOTONIC, &a);
        for (int i = 0; i < files; i++) {
            unsigned long size;
            unsigned char *jpeg = read_file(argv[2 + i], &size);
            int w, h, sub, cs;
            if (tjDecompressHeader3(tj, jpeg, size, &w, &h, &sub, &cs) != 0 ||
                tjDecompress2(tj, jpeg, size, out, w, 0, h, TJPF_RGB, TJFLAG_ACCURATEDCT) != 0) {
                fprintf(stderr, "%s: %s\n", argv[2 + i], tjGetErrorStr2(tj));
                return 1;
            }
            free(jpeg);
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &b);
    double s = (b.tv_sec - a.tv_sec) + 1e-9 * (b.tv_nsec - a.tv_nsec);
    printf("%.1f\n", rounds * files / s);
    return 0;
}
