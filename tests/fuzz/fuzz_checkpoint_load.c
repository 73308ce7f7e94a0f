/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for sae_trainer_load_checkpoint (and sae_model_load of
 * the same bytes, which reads a checkpoint as its model): each input is written to a
 * temporary file and loaded. Any crash, sanitizer report or leak is a bug;
 * a rejection is the expected outcome for almost every input.
 *
 * Built by tests/meson.build when the compiler is clang. For coverage
 * inside the library, configure with
 *     CC=clang meson setup build-fuzz -Db_sanitize=address,undefined \
 *         -Dc_args=-fsanitize=fuzzer-no-link
 * then run, seeded with the golden files:
 *     mkdir -p corpus && cp tests/data/ckpt-v1-*.safetensors corpus/
 *     build-fuzz/tests/fuzz_checkpoint_load corpus -max_len=8192
 * The loader goes through a file (not memory) because the file is its
 * interface: size checks, short reads and stat are part of what is tested. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "sae.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char path[64];

static void remove_file(void)
{
    unlink(path);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (!path[0]) {
        snprintf(path, sizeof path, "/tmp/sae-fuzzck-XXXXXX");
        int fd = mkstemp(path);
        if (fd < 0)
            abort();
        close(fd);
        atexit(remove_file);
    }
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, size, f) != size || fclose(f) != 0)
        abort();

    sae_model_t *m = NULL;
    sae_trainer_t *t = NULL;
    sae_status_t st = sae_trainer_load_checkpoint(path, &m, &t);
    /* Both are handed out exactly when the load succeeds. */
    if ((st == SAE_OK) != (m != NULL) || (st == SAE_OK) != (t != NULL))
        abort();
    sae_trainer_free(t);
    sae_model_free(m);
    st = sae_model_load(path, &m);
    if ((st == SAE_OK) != (m != NULL))
        abort();
    sae_model_free(m);
    return 0;
}
