/* SPDX-License-Identifier: MIT */
/* libFuzzer harness for sae_model_load: each input is written to a
 * temporary file and loaded. Any crash, sanitizer report or leak is a bug;
 * a rejection is the expected outcome for almost every input.
 *
 * Built by tests/meson.build when the compiler is clang. A clang build with
 * ASan (tools/test.sh's asan stage: -Db_sanitize=address,undefined
 * -Db_lundef=false) instruments the library itself with
 * -fsanitize=fuzzer-no-link (lib/meson.build), so the suite's io-fuzz test
 * (tests/fuzz/run-fuzz.sh: 5000 runs, seed 1) is coverage-guided. Longer
 * runs by hand, seeded with the golden files:
 *     mkdir -p corpus && cp tests/data/golden-*.safetensors corpus/
 *     build-asan/tests/fuzz_model_load corpus -max_len=4096
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
        snprintf(path, sizeof path, "/tmp/sae-fuzz-XXXXXX");
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
    sae_status_t st = sae_model_load(path, &m);
    /* A model is handed out exactly when the load succeeds. */
    if ((st == SAE_OK) != (m != NULL))
        abort();
    sae_model_free(m);
    return 0;
}
