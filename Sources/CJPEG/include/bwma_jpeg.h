#ifndef BWMA_JPEG_H
#define BWMA_JPEG_H
// A thin C layer over libjpeg-turbo's libjpeg API. It exists because libjpeg reports errors through
// longjmp, which Swift cannot catch: every entry point here returns a status and a message instead.
// It also exposes the two libjpeg-turbo features the loader relies on for speed: DCT-domain scaling
// (decode at 1/2, 1/4 or 1/8 size) and partial decoding (jpeg_crop_scanline / jpeg_skip_scanlines).
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

enum { BWMA_JPEG_MESSAGE = 200 };

typedef struct {
    int width, height;      // full image size
    int components;         // 1 grey, 3 YCbCr/RGB, 4 CMYK/YCCK
    int colorspace;         // libjpeg J_COLOR_SPACE of the file
    int progressive;
    char message[BWMA_JPEG_MESSAGE];  // the error, when a call returns non-zero
} bwma_jpeg_info;

typedef struct {
    int x, y, width, height;  // the region actually decoded, in scaled coordinates (x snapped to an iMCU edge)
    int warnings;             // libjpeg warnings on recoverable damage (e.g. extraneous bytes)
    char message[BWMA_JPEG_MESSAGE];
} bwma_jpeg_region;

/// Reads the header. Returns 0, or -1 with info->message set.
int bwma_jpeg_header(const uint8_t *data, size_t size, bwma_jpeg_info *info);

/// Size of the image when decoded at scale 1/denom (denom 1, 2, 4 or 8), as libjpeg computes it.
void bwma_jpeg_scaled_size(int width, int height, int denom, int *scaled_width, int *scaled_height);

/// Decodes the region [x, x+w) x [y, y+h) (in scaled coordinates) of the image at scale 1/denom into
/// interleaved RGB (greyscale replicated, CMYK/YCCK converted as Pillow does), pixel for pixel as a full
/// decode would. The decoded region starts up to 48 pixels left of x (a 16-pixel margin, then libjpeg snaps
/// to an iMCU boundary) and extends up to 16 pixels past x+w; it is written to `out`, row stride
/// region->width * 3; `capacity` bytes must hold it ((w + 96) * h * 3 always does).
/// A truncated stream (libjpeg's "premature end of data") is an error, not a grey-filled image.
/// Returns 0, or -1 with region->message set.
int bwma_jpeg_decode(const uint8_t *data, size_t size, int denom, int x, int y, int w, int h,
                     uint8_t *out, size_t capacity, bwma_jpeg_region *region);

#ifdef __cplusplus
}
#endif
#endif
