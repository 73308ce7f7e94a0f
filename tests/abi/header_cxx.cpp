// The public header must compile as C++11 (-std=c++11 -pedantic -Werror,
// built by tests/abi/meson.build) and give C linkage to every function.
// SPDX-License-Identifier: MIT
#include <sae.h>

#include <cstdio>
#include <type_traits>

static_assert(SAE_OK == 0, "SAE_OK is pinned to 0");
static_assert(std::is_standard_layout<sae_stats_t>::value, "sae_stats_t is a C struct");
static_assert(std::is_standard_layout<sae_regularizer_ops_t>::value,
              "sae_regularizer_ops_t is a C struct");
static_assert(offsetof(sae_stats_t, struct_size) == 0, "struct_size comes first");
static_assert(offsetof(sae_regularizer_ops_t, struct_size) == 0, "struct_size comes first");
static_assert(SAE_CHECK_VERSION(0, 0, 0), "SAE_CHECK_VERSION works in C++");

// A C++ regularizer: the ops table must accept a function with C++ linkage
// of the right type, as a user of the header would write it.
static double zero_penalty(void *, const float *, size_t, size_t, float, float *)
{
    return 0.0;
}

int main()
{
    sae_regularizer_ops_t ops = {};
    ops.struct_size = sizeof ops;
    ops.name = "zero";
    ops.penalty = zero_penalty;
    ops.destroy = nullptr;

    sae_status_t (*create)(sae_config_t **) = &sae_config_create;
    (void)create;
    std::printf("sae.h as C++11: version %d.%d.%d, sizeof(sae_regularizer_ops_t) = %u\n",
                SAE_VERSION_MAJOR, SAE_VERSION_MINOR, SAE_VERSION_PATCH,
                static_cast<unsigned>(ops.struct_size));
    return 0;
}
