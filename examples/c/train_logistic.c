/* B3's logistic regression trained from C by the function `gradjit aot`
 * wrote. Build and run (from the repository's root):
 *
 *   cargo run --release -- aot "loss = mean(softplus(-t * (X @ w + b)))" \
 *       --wrt w,b --shape "X=[256,64]" --shape "w=[64,1]" --shape "b=[1]" \
 *       --shape "t=[256,1]" --name step -o step.o
 *   cc -std=c99 -Wall -Wextra -pedantic -I. examples/c/train_logistic.c step.o -lm -o train
 *   ./train
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "step.h"

/* a small deterministic generator: inputs in [-1, 1) */
static float uniform(uint32_t *state) {
    *state = *state * 1664525u + 1013904223u;
    return (float)(*state >> 8) / 8388608.0f - 1.0f;
}

int main(void) {
    static float X[step_X_COUNT], t[step_t_COUNT], w[step_w_COUNT], b[step_b_COUNT];
    static float loss[step_loss_COUNT], d_w[step_d_w_COUNT], d_b[step_d_b_COUNT];
    float truth[step_w_COUNT];
    struct step_inputs in;
    struct step_outputs out;
    unsigned char *raw = malloc(step_SCRATCH_BYTES + step_SCRATCH_ALIGN);
    void *scratch;
    uint32_t state = 42;
    size_t rows = step_t_COUNT, cols = step_w_COUNT, i, j;
    float first = 0.0f;
    int it, rc;

    if (raw == NULL) return 1;
    scratch = raw + (step_SCRATCH_ALIGN - (uintptr_t)raw % step_SCRATCH_ALIGN) % step_SCRATCH_ALIGN;
    /* labels in {-1, +1} from a hidden linear rule */
    for (j = 0; j < cols; j++) truth[j] = uniform(&state);
    for (i = 0; i < rows; i++) {
        float z = 0.0f;
        for (j = 0; j < cols; j++) {
            X[i * cols + j] = uniform(&state);
            z += X[i * cols + j] * truth[j];
        }
        t[i] = z >= 0.0f ? 1.0f : -1.0f;
    }
    in.X = X; in.w = w; in.b = b; in.t = t;
    out.loss = loss; out.d_w = d_w; out.d_b = d_b;
    for (it = 0; it < 200; it++) {
        rc = step_run(&in, &out, scratch);
        if (rc != 0) {
            fprintf(stderr, "step_run: %s\n", step_error(rc));
            return 1;
        }
        if (it == 0) first = loss[0];
        if (it % 50 == 0 || it == 199) printf("step %3d  loss %.6f\n", it, loss[0]);
        for (j = 0; j < cols; j++) w[j] -= 2.0f * d_w[j];
        b[0] -= 2.0f * d_b[0];
    }
    free(raw);
    /* ln 2 at the start; well under half of it after training */
    return loss[0] < 0.5f * first ? 0 : 1;
}
