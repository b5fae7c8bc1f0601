/* SPDX-License-Identifier: Apache-2.0 */
/* Streams an image through a model one timestep at a time from C (C89): the
 * library preprocesses the image into our buffer as the model says, each
 * tspike_session_step feeds one timestep, and tspike_session_readout gives
 * the prediction so far (after T steps: what a whole run gives). Prints one
 * line per timestep, the profile's energy estimate, and last the label.
 *
 *   cc -std=c89 stream.c $(pkg-config --cflags --libs tspike) -o stream
 *   ./stream models/fashion_tsnet.onnx models/samples/fashion_0_ankle_boot.png
 */
#include <stdio.h>
#include <stdlib.h>
#include <tspike/tspike_c.h>

static size_t argmax(const float* v, size_t n) {
  size_t i, best = 0;
  for (i = 1; i < n; ++i)
    if (v[i] > v[best]) best = i;
  return best;
}

static int fail(tspike_status* status) {
  fprintf(stderr, "stream: %s\n", tspike_status_message(status));
  tspike_status_free(status);
  return 1;
}

int main(int argc, char** argv) {
  tspike_status* status = NULL;
  tspike_model* model;
  tspike_session* session;
  tspike_session_options options;
  tspike_profile_totals totals;
  float* image;
  long shape[4];
  size_t size, best = 0, classes;
  int t, timesteps;
  if (argc != 3) {
    fprintf(stderr, "usage: stream MODEL IMAGE\n");
    return 2;
  }
  model = tspike_model_load(argv[1], &status);
  if (!model) return fail(status);
  size = tspike_model_image_size(model);
  if (size == 0) {
    fprintf(stderr, "stream: the model's input is not an image input\n");
    return 1;
  }
  image = (float*)malloc(size * sizeof(float));
  if (!image || tspike_model_load_image(model, argv[2], image, size, &status) != TSPIKE_OK)
    return fail(status);
  shape[0] = 1;
  shape[1] = tspike_model_input_dim(model, 1);
  shape[2] = tspike_model_input_dim(model, 2);
  shape[3] = tspike_model_input_dim(model, 3);

  tspike_session_options_init(&options);
  options.profile = 1;
  session = tspike_session_create_with(model, &options, &status);
  if (!session) return fail(status);
  timesteps = tspike_session_timesteps(session);
  if (tspike_session_reset(session, &status) != TSPIKE_OK) return fail(status);
  for (t = 1; t <= timesteps; ++t) {
    /* A camera would give a new frame here; this streams the same image. */
    if (tspike_session_step(session, image, shape, 4, &status) != TSPIKE_OK) return fail(status);
    if (tspike_session_readout(session, &status) != TSPIKE_OK) return fail(status);
    classes = tspike_session_output_size(session, 0);
    best = argmax(tspike_session_output_data(session, 0), classes);
    printf("timestep %d: %s (firing rate %.3f)\n", t,
           best < tspike_model_label_count(model) ? tspike_model_label(model, best) : "?",
           tspike_session_mean_firing_rate(session));
  }
  if (tspike_session_read_profile(session, &status) != TSPIKE_OK) return fail(status);
  tspike_profile_totals_init(&totals);
  tspike_session_profile_totals(session, &totals, NULL);
  printf("energy: %.1f nJ (the same network as a dense ANN: %.1f nJ)\n", totals.energy_pj / 1000.0,
         totals.dense_energy_pj / 1000.0);
  printf("%s\n", best < tspike_model_label_count(model) ? tspike_model_label(model, best) : "?");
  free(image);
  tspike_session_free(session);
  tspike_model_free(model);
  return 0;
}
