/* SPDX-License-Identifier: MIT */
/* The MPI adapter of sae train --mpi: a reducer (sae_reducer_ops_t) over
 * MPI_COMM_WORLD, built only when meson finds OpenMPI (-Dmpi=auto). The
 * library never links MPI; this file is the whole adapter, and a program of
 * its own can copy it (docs/distributed.md). Every wait polls its request
 * so that a signal (mpirun stopping the job after a rank died) or a timeout
 * ends it with a message instead of a hang. */
#ifndef SAE_CLI_MPI_H
#define SAE_CLI_MPI_H

#include <signal.h>
#include <sae.h>

typedef struct cli_mpi {
    int rank, size;
    double timeout;                   /* seconds a collective may wait */
    volatile sig_atomic_t *stop;      /* set by a signal handler, or NULL */
    /* Measured by the adapter: time spent in collectives (waiting for the
     * slowest rank included), and the bytes of the float sums. */
    double comm_seconds;
    unsigned long long float_bytes, calls;
    char err[256];
} cli_mpi_t;

/* MPI_Init and the rank; 0, or -1 with a message on stderr. */
int cli_mpi_init(cli_mpi_t *m, int *argc, char ***argv, volatile sig_atomic_t *stop);
/* The ops to give sae_trainer_set_reducer with m as user_data. */
sae_reducer_ops_t cli_mpi_ops(const cli_mpi_t *m);
/* 1 on every rank when any rank's flag is 1; -1 on failure (m->err). */
int cli_mpi_any(cli_mpi_t *m, int flag);
/* Rank 0's value of *v on every rank; -1 on failure. */
int cli_mpi_bcast_u64(cli_mpi_t *m, unsigned long long *v);
/* The end of the run: MPI_Finalize when every rank got here (collective
 * end), else leave without it (a peer is gone or will be stopped by
 * mpirun: finalizing would wait for it). */
void cli_mpi_finish(cli_mpi_t *m, int collective);

#endif
