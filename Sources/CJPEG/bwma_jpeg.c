#include "bwma_jpeg.h"

#include <stdio.h>
#include <jpeglib.h>
#include <jerror.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    struct jpeg_error_mgr pub;
    jmp_buf jump;
    char *message;
    int warnings;
} error_manager;

static void on_error(j_common_ptr cinfo) {
    error_manager *e = (error_manager *)cinfo->err;
    char buf[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, buf);
    snprintf(e->message, BWMA_JPEG_MESSAGE, "%s", buf);
    longjmp(e->jump, 1);
}

// Warnings (level -1) are recoverable damage. A stream cut short is the one we refuse: libjpeg would pad
// the image with grey and carry on, which silently trains on a half-grey picture. It shows as the end of the
// input (JWRN_JPEG_EOF) or, when the cut stream ends in a marker such as EOI, as entropy data that hit a marker
// before the image was complete (JWRN_HIT_MARKER, "premature end of data segment").
static void on_message(j_common_ptr cinfo, int level) {
    error_manager *e = (error_manager *)cinfo->err;
    if (level >= 0) return;
    if (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER) on_error(cinfo);
    e->warnings++;
}

static void setup_errors(struct jpeg_decompress_struct *cinfo, error_manager *e, char *message) {
    cinfo->err = jpeg_std_error(&e->pub);
    e->pub.error_exit = on_error;
    e->pub.emit_message = on_message;
    e->message = message;
    e->warnings = 0;
    message[0] = 0;
}

int bwma_jpeg_header(const uint8_t *data, size_t size, bwma_jpeg_info *info) {
    struct jpeg_decompress_struct cinfo;
    error_manager err;
    setup_errors(&cinfo, &err, info->message);
    if (setjmp(err.jump)) {
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    info->width = (int)cinfo.image_width;
    info->height = (int)cinfo.image_height;
    info->components = cinfo.num_components;
    info->colorspace = (int)cinfo.jpeg_color_space;
    info->progressive = cinfo.progressive_mode ? 1 : 0;
    jpeg_destroy_decompress(&cinfo);
    return 0;
}

void bwma_jpeg_scaled_size(int width, int height, int denom, int *scaled_width, int *scaled_height) {
    // jdiv_round_up, as jpeg_calc_output_dimensions does for scale 1/denom.
    *scaled_width = (width + denom - 1) / denom;
    *scaled_height = (height + denom - 1) / denom;
}

// Pillow's CMYK -> RGB (Convert.c cmyk2rgb): channel = nk - nk*c/255 with nk = 255 - k, rounded by MULDIV255.
// Adobe-marked files store inverted CMYK (Pillow's "CMYK;I" raw mode), which is undone first.
static inline uint8_t muldiv255(int a, int b) {
    int t = a * b + 128;
    return (uint8_t)(((t >> 8) + t) >> 8);
}

static void cmyk_to_rgb(const uint8_t *in, uint8_t *out, int n, int inverted) {
    for (int i = 0; i < n; i++) {
        int c = in[4 * i], m = in[4 * i + 1], y = in[4 * i + 2], k = in[4 * i + 3];
        if (inverted) { c = 255 - c; m = 255 - m; y = 255 - y; k = 255 - k; }
        int nk = 255 - k;
        out[3 * i] = (uint8_t)(nk - muldiv255(c, nk));
        out[3 * i + 1] = (uint8_t)(nk - muldiv255(m, nk));
        out[3 * i + 2] = (uint8_t)(nk - muldiv255(y, nk));
    }
}

int bwma_jpeg_decode(const uint8_t *data, size_t size, int denom, int x, int y, int w, int h,
                     uint8_t *out, size_t capacity, bwma_jpeg_region *region) {
    struct jpeg_decompress_struct cinfo;
    error_manager err;
    uint8_t *cmyk_row = NULL;
    setup_errors(&cinfo, &err, region->message);
    if (setjmp(err.jump)) {
        free(cmyk_row);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    jpeg_create_decompress(&cinfo);
    jpeg_mem_src(&cinfo, data, (unsigned long)size);
    jpeg_read_header(&cinfo, TRUE);
    int cmyk = cinfo.jpeg_color_space == JCS_CMYK || cinfo.jpeg_color_space == JCS_YCCK;
    int inverted = cmyk && cinfo.saw_Adobe_marker;
    cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_RGB;
    cinfo.scale_num = 1;
    cinfo.scale_denom = (unsigned int)denom;
    cinfo.dct_method = JDCT_ISLOW;
    cinfo.do_fancy_upsampling = TRUE;
    jpeg_start_decompress(&cinfo);
    int ow = (int)cinfo.output_width, oh = (int)cinfo.output_height;
    if (x < 0 || y < 0 || w <= 0 || h <= 0 || x + w > ow || y + h > oh) {
        snprintf(region->message, BWMA_JPEG_MESSAGE, "region %dx%d+%d+%d outside the %dx%d image", w, h, x, y, ow, oh);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    // Decode a margin on both sides: a column at the edge of a cropped scanline would otherwise be upsampled
    // from replicated chroma instead of its neighbour.
    int left = x > 16 ? x - 16 : 0, right = x + w + 16 < ow ? x + w + 16 : ow;
    JDIMENSION cx = (JDIMENSION)left, cw = (JDIMENSION)(right - left);
    if (cx != 0 || cw != (JDIMENSION)ow) jpeg_crop_scanline(&cinfo, &cx, &cw);
    size_t stride = (size_t)cw * 3;
    if (stride * (size_t)h > capacity) {
        snprintf(region->message, BWMA_JPEG_MESSAGE, "output buffer of %zu bytes too small for %ux%d", capacity, cw, h);
        jpeg_destroy_decompress(&cinfo);
        return -1;
    }
    if (cmyk) cmyk_row = (uint8_t *)malloc((size_t)cw * 4);
    if (y > 0) jpeg_skip_scanlines(&cinfo, (JDIMENSION)y);
    for (int r = 0; r < h; r++) {
        uint8_t *dst = out + (size_t)r * stride;
        JSAMPROW row = cmyk ? cmyk_row : dst;
        if (jpeg_read_scanlines(&cinfo, &row, 1) != 1) {
            snprintf(region->message, BWMA_JPEG_MESSAGE, "no data for output row %d", y + r);
            free(cmyk_row);
            jpeg_destroy_decompress(&cinfo);
            return -1;
        }
        if (cmyk) cmyk_to_rgb(cmyk_row, dst, (int)cw, inverted);
    }
    free(cmyk_row);
    region->x = (int)cx;
    region->y = y;
    region->width = (int)cw;
    region->height = h;
    region->warnings = err.warnings;
    // Rows below the region are never decoded.
    jpeg_abort_decompress(&cinfo);
    jpeg_destroy_decompress(&cinfo);
    return 0;
}
