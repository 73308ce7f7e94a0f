/* SPDX-License-Identifier: MIT */
/* docs/interop.md's example, verbatim: a Gemma Scope SAE's codes for rows
 * of floats read from stdin (tests/foreign/test_cli_foreign.py runs it). */
#include <stdio.h>
#include <stdlib.h>
#include <sae.h>

int main(int argc, char **argv) /* gemma_scope_example params.npz < rows.f32 > codes.f32 */
{
    sae_model_t *sae;
    if (argc != 2 || sae_model_import(argv[1], NULL, &sae) != SAE_OK)
        return fprintf(stderr, "%s\n", argc != 2 ? "usage: PARAMS" : sae_last_error()), 1;
    size_t d = sae_model_input_dim(sae), s = sae_model_code_dim(sae);
    float *x = malloc(d * sizeof *x), *code = malloc(s * sizeof *code);
    while (x && code && fread(x, sizeof *x, d, stdin) == d &&
           sae_model_encode(sae, x, 1, code) == SAE_OK)
        fwrite(code, sizeof *code, s, stdout); /* JumpReLU codes, one row at a time */
    free(x);
    free(code);
    sae_model_free(sae);
    return 0;
}
