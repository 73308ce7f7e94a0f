/* Run-time version. SPDX-License-Identifier: MIT */
#include "sae.h"

#define SAE_STR2(x) #x
#define SAE_STR(x) SAE_STR2(x)

uint32_t sae_version_number(void)
{
    return (uint32_t)SAE_VERSION_NUMBER;
}

const char *sae_version_string(void)
{
    return SAE_STR(SAE_VERSION_MAJOR) "." SAE_STR(SAE_VERSION_MINOR) "." SAE_STR(SAE_VERSION_PATCH);
}
