/*
 * safetensors.h - reading and writing the safetensors format (Hugging Face), so checkpoints
 * load in PyTorch (safetensors.torch.load_file) and numpy.
 *
 * Layout: u64 little-endian N, then N bytes of UTF-8 JSON
 *   {"__metadata__": {"k": "v", ...}, "name": {"dtype": "F32", "shape": [..],
 *    "data_offsets": [begin, end]}, ...}
 * padded with spaces to a multiple of 8, then the data buffer; offsets are relative to the
 * start of the data buffer, tensors are contiguous row-major little-endian, and together
 * they cover the buffer without gaps or overlap.
 *
 * Writing is atomic: the file is written to "<path>.tmp.<pid>", flushed, fsync'ed, then
 * renamed over path; on any failure the temporary file is removed and an existing file at
 * path is left untouched.
 */
#ifndef MMX_SAFETENSORS_H
#define MMX_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "multimax.h"

#define MMX_ST_MAX_DIMS 8

typedef enum { MMX_ST_F32 = 0, MMX_ST_F64 = 1, MMX_ST_I32 = 2, MMX_ST_I64 = 3, MMX_ST_U8 = 4 } mmx_st_dtype;

/* Bytes per element of a dtype; 0 for a value outside the enum. */
size_t mmx_st_dtype_size(mmx_st_dtype t);

/* One tensor to write (the data is not copied; it must stay valid during the call). */
typedef struct {
    const char *name; /* unique, not "__metadata__", printable ASCII without '"' or '\\' */
    mmx_st_dtype dtype;
    int ndim;         /* 0 .. MMX_ST_MAX_DIMS (0 = scalar, one element) */
    int64_t shape[MMX_ST_MAX_DIMS];
    const void *data;
} mmx_st_tensor;

/* Writes n tensors and n_meta metadata pairs (meta[2i] = key, meta[2i+1] = value; printable
 * ASCII without '"' or '\\') atomically to path, "__metadata__" first, then the tensors in
 * the given order with contiguous data. Names are 1..255 bytes, keys non-empty, values may
 * be empty. Errors: MMX_ERR_NULL (path, tensors, meta, a string or the data of a non-empty
 * tensor is NULL), MMX_ERR_PARAM (n or n_meta < 0, a bad or duplicate name or key, a dtype
 * outside the enum, ndim outside 0..MMX_ST_MAX_DIMS, a negative dim, a size beyond 64
 * bits), MMX_ERR_NOMEM, MMX_ERR_IO (naming path and the system's reason); path is then
 * untouched and no temporary file is left. Assumes a little-endian host (checked when
 * compiling). */
mmx_status mmx_st_write(const char *path, const mmx_st_tensor *tensors, int n,
                        const char *const *meta, int n_meta);

/* A file read into memory and validated. */
typedef struct {
    char name[256];
    mmx_st_dtype dtype;
    int ndim;
    int64_t shape[MMX_ST_MAX_DIMS];
    const void *data; /* into the file's buffer, not aligned: read it with memcpy */
    size_t bytes;
} mmx_st_entry;

typedef struct {
    mmx_st_entry *entries; /* in the order of their data in the file: the order written */
    int n;
    char **meta; /* 2 * n_meta strings: key, value (in header order) */
    int n_meta;
    void *buffer; /* the whole file */
    size_t size;
    char *path; /* the path read, for messages */
} mmx_st_file;

/*
 * Reads and validates path: header length within the file, well-formed JSON of the layout
 * above, known dtypes, shapes whose element count matches the offsets, offsets inside the data
 * buffer covering it exactly, unique names and metadata keys, string metadata values. The
 * JSON reader takes objects, strings (escapes \" \\ \/ \b \f \n \r \t and \u0001-\u007f;
 * other bytes, UTF-8 included, are kept as they are) and non-negative integers, which is
 * all the layout needs. Errors: MMX_ERR_NULL, MMX_ERR_NOMEM, MMX_ERR_IO (cannot open / read)
 * or MMX_ERR_FORMAT with a message "mmx_st_read: <path>: <what>" naming the tensor, or the
 * file offset of a JSON error; *f is then zeroed and nothing leaks. mmx_st_free(f) after
 * success.
 */
mmx_status mmx_st_read(mmx_st_file *f, const char *path);

/* The entry with this name, or NULL (a linear search: a checkpoint has hundreds of tensors,
 * not millions). */
const mmx_st_entry *mmx_st_find(const mmx_st_file *f, const char *name);

/* The metadata value of key, or NULL. */
const char *mmx_st_meta(const mmx_st_file *f, const char *key);

/*
 * Copies tensor `name` into dst after checking it exists, has this dtype and exactly this shape
 * (ndim dims); MMX_ERR_FORMAT naming the file, the tensor and the mismatch otherwise.
 */
mmx_status mmx_st_get(const mmx_st_file *f, const char *name, mmx_st_dtype dtype, int ndim,
                      const int64_t *shape, void *dst);

/* Frees everything f holds and zeroes it; safe on a zeroed or already freed file. */
void mmx_st_free(mmx_st_file *f);

#endif
