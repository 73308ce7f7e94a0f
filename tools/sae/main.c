/* SPDX-License-Identifier: MIT */
/* sae: train, use and inspect sparse autoencoders on data files
 * (docs/cli.md, sae(1)). One subcommand a file (cmd_*.c). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
    const char *name;
    int (*run)(int, char **);
    const char *about;
} commands[] = {
    {"train", cmd_train, "train a model on data files"},
    {"encode", cmd_encode, "codes of data rows (.npy)"},
    {"decode", cmd_decode, "rows from codes (.npy)"},
    {"eval", cmd_eval, "reconstruction and sparsity metrics on data rows"},
    {"info", cmd_info, "what a model file holds"},
    {"convert", cmd_convert, "model files to the current format, data files to .npy"},
#ifdef SAE_CLI_VIZ
    {"viz", cmd_viz, "pictures: atoms, firing frequencies, loss curves (PNG)"},
#endif
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *fp)
{
    fprintf(fp, "Usage: sae COMMAND [OPTIONS]\n"
                "Train, use and inspect sparse autoencoders (libsae %s).\n\nCommands:\n",
            sae_version_string());
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(fp, "  %-9s %s\n", commands[i].name, commands[i].about);
    fprintf(fp, "\n'sae COMMAND --help' tells a command's options; 'man sae' tells all.\n"
                "Exit status: 0 success, 1 a run-time error, 2 a usage error.\n");
}

int main(int argc, char **argv)
{
    if (argc < 2)
        return usage(stderr), CLI_USAGE;
    const char *c = argv[1];
    if (strcmp(c, "--help") == 0 || strcmp(c, "-h") == 0 || strcmp(c, "help") == 0) {
        if (strcmp(c, "help") == 0 && argc > 2) {
            char help[] = "--help";
            char *args[] = {argv[2], help, NULL};
            for (size_t i = 0; i < N_COMMANDS; i++)
                if (strcmp(argv[2], commands[i].name) == 0)
                    return commands[i].run(2, args);
            return cli_usage(NULL, "no command '%s'", argv[2]);
        }
        usage(stdout);
        return CLI_OK;
    }
    if (strcmp(c, "--version") == 0) {
        printf("sae (libsae) %s\n", sae_version_string());
        return CLI_OK;
    }
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(c, commands[i].name) == 0)
            return commands[i].run(argc - 1, argv + 1);
    return cli_usage(NULL, "no command '%s'", c);
}
