/* SPDX-License-Identifier: MIT */
/* Error codes shared by the example helpers (loaders, writers), with a
 * detail message for the last failure, so that tests can check the exact
 * kind of failure and programs can still print something specific. */
#ifndef EX_STATUS_H
#define EX_STATUS_H

typedef enum ex_status {
    EX_OK = 0,
    EX_ERR_ARG = -1,        /* a NULL or nonsensical argument */
    EX_ERR_IO = -2,         /* a file could not be opened, read or written */
    EX_ERR_NOMEM = -3,      /* an allocation failed */
    EX_ERR_MAGIC = -4,      /* an IDX file does not start with the expected magic */
    EX_ERR_TRUNCATED = -5,  /* a file holds less data than its header says */
    EX_ERR_DIMENSION = -6,  /* zero, overflowing or inconsistent dimensions,
                               or data beyond what the header announces */
    EX_ERR_TOO_BIG = -7,    /* larger than any data set these loaders expect */
    EX_ERR_JSON = -8,       /* malformed JSON, or not the expected shape */
    EX_ERR_COUNT = -9,      /* a value count that is not a whole number of rows */
    EX_ERR_RANGE = -10,     /* a value outside its allowed range */
    EX_ERR_FORMAT = -11     /* an image file libpng rejects or cannot convert */
} ex_status;

/* A short fixed description of a status. Never NULL. */
const char *ex_status_str(ex_status status);

/* The detail message of the last failure on this thread ("" if none). */
const char *ex_error_detail(void);

/* Records a printf-style detail message and returns status, so that a
 * failing path reads `return ex_fail(EX_ERR_IO, "cannot open %s", path);`. */
#if defined(__GNUC__) || defined(__clang__)
__attribute__((format(printf, 2, 3)))
#endif
ex_status ex_fail(ex_status status, const char *fmt, ...);

#endif /* EX_STATUS_H */
