/* SPDX-License-Identifier: MIT */
#include "common/colormap.h"

#include <math.h>

/* Ten evenly spaced samples of viridis; linear interpolation between them
 * stays within a couple of levels of the full 256-entry table. */
static const uint8_t viridis_anchor[10][3] = {
    {0x44, 0x01, 0x54}, {0x48, 0x28, 0x78}, {0x3e, 0x4a, 0x89}, {0x31, 0x68, 0x8e},
    {0x26, 0x82, 0x8e}, {0x1f, 0x9e, 0x89}, {0x35, 0xb7, 0x79}, {0x6d, 0xcd, 0x59},
    {0xb4, 0xde, 0x2c}, {0xfd, 0xe7, 0x25},
};

ex_color ex_viridis(double t)
{
    if (!(t > 0.0))
        t = 0.0;
    if (t > 1.0)
        t = 1.0;
    double pos = t * 9.0;
    int i = (int)pos;
    if (i > 8)
        i = 8;
    double f = pos - i;
    ex_color c;
    c.r = (uint8_t)lround(viridis_anchor[i][0] + f * (viridis_anchor[i + 1][0] - viridis_anchor[i][0]));
    c.g = (uint8_t)lround(viridis_anchor[i][1] + f * (viridis_anchor[i + 1][1] - viridis_anchor[i][1]));
    c.b = (uint8_t)lround(viridis_anchor[i][2] + f * (viridis_anchor[i + 1][2] - viridis_anchor[i][2]));
    return c;
}
