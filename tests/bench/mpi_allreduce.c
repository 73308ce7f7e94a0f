/* The time of one MPI_Allreduce (sum, in place) of N floats, the mean of
 * REPS after 3 warm-up calls, as rank 0 sees it: the pure communication
 * cost of a gradient message, without the waiting for a slower rank that
 * sae train --mpi's collectives' time includes (sae_mpi_scaling.py).
 *     mpirun -np 2 bench_mpi_allreduce N [REPS]
 * SPDX-License-Identifier: MIT */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    long n = argc > 1 ? atol(argv[1]) : 1 << 20;
    int reps = argc > 2 ? atoi(argv[2]) : 20;
    if (n < 1 || n > (1L << 30) || reps < 1) {
        if (rank == 0)
            fprintf(stderr, "usage: bench_mpi_allreduce N [REPS]\n");
        MPI_Finalize();
        return 2;
    }
    float *buf = malloc((size_t)n * sizeof *buf);
    if (!buf)
        MPI_Abort(MPI_COMM_WORLD, 1);
    for (long i = 0; i < n; i++)
        buf[i] = 1e-3f * (float)(i % 1000);
    double t = 0.0;
    for (int r = -3; r < reps; r++) {
        MPI_Barrier(MPI_COMM_WORLD);
        double t0 = MPI_Wtime();
        MPI_Allreduce(MPI_IN_PLACE, buf, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD);
        if (r >= 0)
            t += MPI_Wtime() - t0;
    }
    if (rank == 0)
        printf("allreduce %ld floats (%.2f MiB): %.3f ms\n", n, (double)n * 4 / (1 << 20),
               1e3 * t / reps);
    free(buf);
    MPI_Finalize();
    return 0;
}
