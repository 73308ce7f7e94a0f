/* SPDX-License-Identifier: MIT */
/* mpi.h in a build without MPI (meson found no OpenMPI, or -Dmpi=disabled):
 * --mpi says so. */
#include "mpi.h"

#include <stdio.h>
#include <string.h>

int cli_mpi_init(cli_mpi_t *m, int *argc, char ***argv, volatile sig_atomic_t *stop)
{
    (void)argc;
    (void)argv;
    (void)stop;
    memset(m, 0, sizeof *m);
    fprintf(stderr, "sae train: --mpi: this sae was built without MPI (install libopenmpi-dev "
                    "and rebuild with -Dmpi=enabled)\n");
    return -1;
}

sae_reducer_ops_t cli_mpi_ops(const cli_mpi_t *m)
{
    (void)m;
    sae_reducer_ops_t o;
    memset(&o, 0, sizeof o);
    return o;
}

int cli_mpi_any(cli_mpi_t *m, int flag)
{
    (void)m;
    return flag;
}

int cli_mpi_bcast_u64(cli_mpi_t *m, unsigned long long *v)
{
    (void)m;
    (void)v;
    return 0;
}

void cli_mpi_finish(cli_mpi_t *m, int collective)
{
    (void)m;
    (void)collective;
}
