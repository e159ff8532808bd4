/*
 * safetensors_impl.h - internal to src/train/safetensors*.c: the header parser behind
 * mmx_st_read (safetensors_json.c) and the helpers the reader and the writer share
 * (safetensors.c). Not part of any public API.
 */
#ifndef MMX_SAFETENSORS_IMPL_H
#define MMX_SAFETENSORS_IMPL_H

#include <stddef.h>
#include <stdint.h>

#include "train/safetensors.h"

/* The Python package refuses headers over 100 MB (a guard against a hostile length that
 * would make a reader allocate gigabytes); so do we, with the same limit. */
#define MMX_ST_MAX_HEADER 100000000u

/* Longest tensor name, so that it fits mmx_st_entry.name with its terminator. */
#define MMX_ST_MAX_NAME 255

/* "F32", "F64", "I32", "I64", "U8"; NULL for a value outside the enum. */
const char *mmx_st_dtype_name(mmx_st_dtype t);

/* Bytes of a tensor of this dtype and shape (dims >= 0) in *bytes; -1 if that does not fit
 * in 64 bits (a zero dim anywhere makes it 0, whatever the others are). */
int mmx_st_nbytes(mmx_st_dtype t, int ndim, const int64_t *shape, uint64_t *bytes);

/* Index of one of two equal strings among names[0..n), or -1 if all differ. Sorts a copy,
 * so n may be large (a hostile header can hold millions of names). */
int64_t mmx_st_find_duplicate(const char *const *names, size_t n);

/* The byte range [begin, end) of one tensor in the data buffer (its data_offsets). */
typedef struct {
    uint64_t begin, end;
} mmx_st_span;

/*
 * Parses the n-byte JSON header `json` of the file `path` into f->entries / f->n (name,
 * dtype, ndim, shape; data and bytes are left to the caller, who checks the offsets against
 * the data buffer) with (*spans)[i] the data_offsets of entries[i], and into f->meta /
 * f->n_meta. Checks the JSON syntax, that each tensor has exactly dtype, shape and
 * data_offsets, the dtype names, the number of dims, and that each tensor's element count
 * matches its span. Errors: MMX_ERR_FORMAT "mmx_st_read: <path>: header at file offset K:
 * <what>" or MMX_ERR_NOMEM; what was parsed so far is left in f and *spans for the caller
 * to free either way.
 */
mmx_status mmx_st_parse_header(mmx_st_file *f, mmx_st_span **spans, const char *path,
                               const char *json, size_t n);

#endif
