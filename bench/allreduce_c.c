/* Plain C MPI_Allreduce loop: the reference for `bwma bench allreduce` (docs/benchmarks.md).
 * Build: mpicc -O2 bench/allreduce_c.c -o /tmp/allreduce_c
 * Run:   launch/mpirun-c 2 /tmp/allreduce_c 1K,64K,1M,4M 50   (or mpirun -np 2 ...)
 * Prints one line per size: bytes and milliseconds per in-place float sum (max over ranks). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static long parse(const char *s) {
    char *end;
    long v = strtol(s, &end, 10);
    if (*end == 'K' || *end == 'k') v *= 1024;
    if (*end == 'M' || *end == 'm') v *= 1024 * 1024;
    return v;
}

int main(int argc, char **argv) {
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *spec = argc > 1 ? argv[1] : "1K,64K,1M,4M";
    int iters = argc > 2 ? atoi(argv[2]) : 50;
    char *copy = strdup(spec);
    for (char *tok = strtok(copy, ","); tok; tok = strtok(NULL, ",")) {
        long n = parse(tok) / 4;
        float *buf = malloc(sizeof(float) * n);
        for (long i = 0; i < n; i++) buf[i] = (float)(i % 7);
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        for (int i = 0; i < iters; i++) MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        double t = (MPI_Wtime() - t0) / iters, tmax;
        MPI_Allreduce(&t, &tmax, 1, MPI_DOUBLE, MPI_MAX, MPI_COMM_WORLD);
        if (rank == 0) printf("%ld %.6f\n", n * 4, tmax * 1000);
        free(buf);
    }
    free(copy);
    MPI_Finalize();
    return 0;
}
