/* SPDX-License-Identifier: MIT */
/* The MPI adapter (mpi.h): sums and broadcasts on MPI_COMM_WORLD through
 * non-blocking collectives that the caller's thread polls, so that a dead
 * peer (mpirun then signals the job) or a timeout turns into an error. One
 * MPI_Iallreduce a call: the trainer hands the gradient as one block after
 * the backward pass (docs/distributed.md says why it is not bucketed). */
#include "mpi.h"

#include <limits.h>
#include <stdlib.h>
#include <mpi.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Elements a collective at most (MPI counts are ints). */
#define CHUNK (1 << 28)

static int wait_for(cli_mpi_t *m, MPI_Request *req, const char *what)
{
    double t0 = MPI_Wtime(), stopped_at = 0.0;
    struct timespec nap = {0, 20000};
    for (unsigned long spins = 0;; spins++) {
        int done = 0;
        int rc = MPI_Test(req, &done, MPI_STATUS_IGNORE);
        if (rc != MPI_SUCCESS) {
            char s[MPI_MAX_ERROR_STRING];
            int len = 0;
            MPI_Error_string(rc, s, &len);
            snprintf(m->err, sizeof m->err, "%s: %.200s", what, s);
            return -1;
        }
        if (done) {
            m->comm_seconds += MPI_Wtime() - t0;
            return 0;
        }
        /* A signal: mpirun forwards one to every rank (then they all
         * reach the next collective and stop together, with a
         * checkpoint), or stops the job after a rank died (then this wait
         * never ends). A grace of 2 s tells them apart. */
        if (m->stop && *m->stop && stopped_at == 0.0) {
            stopped_at = MPI_Wtime();
            /* Said at once: mpirun's SIGKILL may follow its SIGTERM soon. */
            fprintf(stderr,
                    "sae train: --mpi: rank %d of %d: a signal arrived while waiting for the "
                    "other ranks in %s (a rank died, or the job is being stopped)\n",
                    m->rank, m->size, what);
            fflush(stderr);
        }
        if (stopped_at > 0.0 && MPI_Wtime() - stopped_at > 2.0) {
            snprintf(m->err, sizeof m->err,
                     "%s: stopped by a signal while waiting for the other ranks (a rank died, "
                     "or the job is being stopped)",
                     what);
            return -2;
        }
        if (MPI_Wtime() - t0 > m->timeout) {
            snprintf(m->err, sizeof m->err,
                     "%s: no answer from the other ranks in %.0f s (a rank hangs or died; "
                     "SAE_MPI_TIMEOUT sets the limit)",
                     what, m->timeout);
            return -3;
        }
        /* Spin for the fast answers, then let the other ranks' threads run
         * (the ranks may share cores). */
        if (spins > 2000)
            nanosleep(&nap, NULL);
    }
}

static int allreduce(cli_mpi_t *m, void *buf, size_t n, MPI_Datatype type, size_t size,
                     const char *what)
{
    m->calls++;
    for (size_t done = 0; done < n;) {
        int k = n - done < CHUNK ? (int)(n - done) : CHUNK;
        MPI_Request req;
        if (MPI_Iallreduce(MPI_IN_PLACE, (char *)buf + done * size, k, type, MPI_SUM,
                           MPI_COMM_WORLD, &req) != MPI_SUCCESS) {
            snprintf(m->err, sizeof m->err, "%s: MPI_Iallreduce failed", what);
            return -1;
        }
        int rc = wait_for(m, &req, what);
        if (rc != 0)
            return rc;
        done += (size_t)k;
    }
    return 0;
}

static int ar_float(void *u, float *buf, size_t n)
{
    cli_mpi_t *m = u;
    m->float_bytes += n * sizeof *buf;
    return allreduce(m, buf, n, MPI_FLOAT, sizeof *buf, "MPI_Allreduce of floats");
}

static int ar_double(void *u, double *buf, size_t n)
{
    return allreduce(u, buf, n, MPI_DOUBLE, sizeof *buf, "MPI_Allreduce of doubles");
}

static int bcast(void *u, void *buf, size_t bytes)
{
    cli_mpi_t *m = u;
    m->calls++;
    for (size_t done = 0; done < bytes;) {
        int k = bytes - done < CHUNK ? (int)(bytes - done) : CHUNK;
        MPI_Request req;
        if (MPI_Ibcast((char *)buf + done, k, MPI_BYTE, 0, MPI_COMM_WORLD, &req) != MPI_SUCCESS) {
            snprintf(m->err, sizeof m->err, "MPI_Bcast failed");
            return -1;
        }
        int rc = wait_for(m, &req, "MPI_Bcast");
        if (rc != 0)
            return rc;
        done += (size_t)k;
    }
    return 0;
}

static const char *errmsg(void *u)
{
    return ((cli_mpi_t *)u)->err;
}

int cli_mpi_init(cli_mpi_t *m, int *argc, char ***argv, volatile sig_atomic_t *stop)
{
    memset(m, 0, sizeof *m);
    int provided = 0;
    if (MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided) != MPI_SUCCESS) {
        fprintf(stderr, "sae train: --mpi: MPI_Init failed\n");
        return -1;
    }
    /* Errors come back as codes, not as an abort of the job. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &m->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &m->size);
    m->stop = stop;
    m->timeout = 600.0;
    const char *t = getenv("SAE_MPI_TIMEOUT");
    if (t && atof(t) > 0)
        m->timeout = atof(t);
    return 0;
}

sae_reducer_ops_t cli_mpi_ops(const cli_mpi_t *m)
{
    sae_reducer_ops_t o;
    memset(&o, 0, sizeof o);
    o.struct_size = sizeof o;
    o.rank = m->rank;
    o.ranks = m->size;
    o.allreduce_float = ar_float;
    o.allreduce_double = ar_double;
    o.broadcast = bcast;
    o.errmsg = errmsg;
    return o;
}

int cli_mpi_any(cli_mpi_t *m, int flag)
{
    double f = flag ? 1.0 : 0.0;
    if (allreduce(m, &f, 1, MPI_DOUBLE, sizeof f, "MPI_Allreduce of a flag") != 0)
        return -1;
    return f > 0.0;
}

int cli_mpi_bcast_u64(cli_mpi_t *m, unsigned long long *v)
{
    return bcast(m, v, sizeof *v);
}

void cli_mpi_finish(cli_mpi_t *m, int collective)
{
    (void)m;
    if (collective)
        MPI_Finalize();
}
