/* Benchmark: single-threaded inference latency of a 784-1024-784 sigmoid
 * model (encode and reconstruct of 1, 16 and 256 rows, median of many
 * calls), and the same calls from 2 threads on the one model. The
 * inference contexts (lib/model/infer_ctx.c) must not slow the
 * single-threaded path: run it against two builds of the library
 * (LD_LIBRARY_PATH) in one session to compare. SPDX-License-Identifier: MIT */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#include "bench_util.h"
#include "sae.h"

#define D 784
#define H 1024

static double time_call(sae_model_t *m, int reconstruct, const float *x, size_t rows, float *out,
                        int reps)
{
    double *t = malloc((size_t)reps * sizeof *t);
    for (int i = 0; i < reps; i++) {
        double t0 = bench_now();
        sae_status_t st = reconstruct ? sae_model_reconstruct(m, x, rows, out)
                                      : sae_model_encode(m, x, rows, out);
        t[i] = bench_now() - t0;
        if (st != SAE_OK) {
            fprintf(stderr, "bench: %s\n", sae_model_errmsg(m));
            exit(1);
        }
    }
    double med = bench_median(t, reps);
    free(t);
    return med;
}

typedef struct job {
    sae_model_t *m;
    const float *x;
    float *out;
    double secs;
} job_t;

static void *worker(void *arg)
{
    job_t *j = arg;
    j->secs = time_call(j->m, 1, j->x, 16, j->out, 400);
    return NULL;
}

int main(void)
{
    bench_print_machine();
    sae_config_t *cfg = NULL;
    sae_model_t *m = NULL;
    if (sae_config_create(&cfg) != SAE_OK || sae_config_set(cfg, "arch.input_dim", "784") ||
        sae_config_set(cfg, "arch.hidden_dim", "1024") || sae_config_set(cfg, "train.threads", "1") ||
        sae_model_create(cfg, &m) != SAE_OK) {
        fprintf(stderr, "bench: cannot create the model\n");
        return 1;
    }
    float *x = malloc(256 * D * sizeof *x), *out = malloc(2 * 256 * H * sizeof *out);
    for (size_t i = 0; i < 256 * D; i++)
        x[i] = (float)((i * 2654435761u) % 1000) / 1000.0f;
    static const size_t rows[] = {1, 16, 256};
    for (int rec = 0; rec < 2; rec++)
        for (size_t r = 0; r < 3; r++) {
            int reps = rows[r] == 256 ? 60 : 600;
            time_call(m, rec, x, rows[r], out, 5); /* warm */
            printf("infer_%s_%zu_rows_us: %.1f\n", rec ? "reconstruct" : "encode", rows[r],
                   1e6 * time_call(m, rec, x, rows[r], out, reps));
        }
    /* Two threads on one model (libsae 0.4: allowed; earlier: not). */
    job_t j[2] = {{m, x, out, 0}, {m, x + 16 * D, out + 256 * H, 0}};
    pthread_t th[2];
    for (int i = 0; i < 2; i++)
        pthread_create(&th[i], NULL, worker, &j[i]);
    for (int i = 0; i < 2; i++)
        pthread_join(th[i], NULL);
    printf("infer_reconstruct_16_rows_2_threads_us: %.1f %.1f\n", 1e6 * j[0].secs,
           1e6 * j[1].secs);
    free(x);
    free(out);
    sae_model_free(m);
    sae_config_free(cfg);
    return 0;
}
