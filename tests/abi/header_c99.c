/* The public header must compile on its own as strict C99 (built with
 * -std=c99 -pedantic -Werror -Wall -Wextra by tests/abi/meson.build).
 * SPDX-License-Identifier: MIT */
#include <sae.h>

#include <stdio.h>

/* Compile-time checks of the things docs/abi.md promises. */
typedef char sae_ok_is_zero[(SAE_OK == 0) ? 1 : -1];
typedef char sae_errors_are_negative[(SAE_ERR_NULL < 0 && SAE_ERR_TYPE < 0) ? 1 : -1];
typedef char sae_version_number_matches[(SAE_VERSION_NUMBER == SAE_VERSION_MAJOR * 10000 +
                                                                   SAE_VERSION_MINOR * 100 +
                                                                   SAE_VERSION_PATCH)
                                            ? 1
                                            : -1];
typedef char sae_check_version_works[SAE_CHECK_VERSION(0, 0, 0) ? 1 : -1];
typedef char sae_ops_starts_with_size[(offsetof(sae_regularizer_ops_t, struct_size) == 0) ? 1 : -1];
typedef char sae_stats_starts_with_size[(offsetof(sae_stats_t, struct_size) == 0) ? 1 : -1];

int main(void)
{
    /* Take the address of a few entry points so that a declaration that does
     * not match its use fails to compile; nothing is called. */
    sae_status_t (*create)(sae_config_t **) = sae_config_create;
    void (*release)(sae_config_t *) = sae_config_free;
    sae_progress_fn fn = NULL;
    sae_stats_t stats = {0};
    sae_regularizer_ops_t ops = {0};

    stats.struct_size = (uint32_t)sizeof stats;
    ops.struct_size = (uint32_t)sizeof ops;
    (void)create;
    (void)release;
    (void)fn;
    printf("sae.h as C99: version %d.%d.%d, sizeof(sae_stats_t) = %u, "
           "sizeof(sae_regularizer_ops_t) = %u\n",
           SAE_VERSION_MAJOR, SAE_VERSION_MINOR, SAE_VERSION_PATCH, (unsigned)stats.struct_size,
           (unsigned)ops.struct_size);
    return 0;
}
