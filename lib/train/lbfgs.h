/* Full-batch L-BFGS (optim.type = lbfgs) through liblbfgs, when the build
 * has it (meson option lbfgs); the method itself is sae_method_lbfgs
 * (train/method.h). SPDX-License-Identifier: MIT */
#ifndef SAE_TRAIN_LBFGS_H
#define SAE_TRAIN_LBFGS_H

/* 1 when this library was built with liblbfgs. */
int sae_lbfgs_available(void);

#endif
