/* SPDX-License-Identifier: Apache-2.0 */
/* The event-camera part of the C API from C (C89, -pedantic): read a
 * recording, the model's binning, frames, one run over all frames against
 * frame-by-frame steps, a binning of other (older) struct size, errors.
 * Uses the shipped models/fashion_events.onnx and its sample recording.
 * Exit 0 on success; prints what failed otherwise. */
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tspike/tspike_c.h"

static int failures = 0;
#define CHECK(cond)                                                      \
  do {                                                                   \
    if (!(cond)) {                                                       \
      fprintf(stderr, "%s:%d: failed: %s\n", __FILE__, __LINE__, #cond); \
      ++failures;                                                        \
    }                                                                    \
  } while (0)

int main(void) {
  const char* model_path = TSPIKE_SOURCE_DIR "/models/fashion_events.onnx";
  const char* recording_path = TSPIKE_SOURCE_DIR "/models/samples/events/fashion_events_0_ankle_boot.bin";
  tspike_status* status = NULL;
  tspike_model* model;
  tspike_session* session;
  tspike_events* events;
  tspike_frames* frames;
  tspike_binning binning;
  tspike_event bad_event;
  float* mean;
  long shape[6];
  size_t i, t, rank, frame_count, classes = 10;
  int timesteps;

  model = tspike_model_load(model_path, &status);
  CHECK(model != NULL && status == NULL);
  if (!model) {
    fprintf(stderr, "%s\n", tspike_status_message(status));
    return 1;
  }
  timesteps = tspike_model_timesteps(model);

  events = tspike_events_read(recording_path, model, &status);
  CHECK(events != NULL && status == NULL);
  if (!events) return 1;
  CHECK(tspike_events_count(events) > 1000);
  CHECK(tspike_events_data(events)[0].t <= tspike_events_data(events)[1].t);

  memset(&binning, 0, sizeof binning);
  binning.struct_size = sizeof binning;
  CHECK(tspike_model_binning(model, &binning, &status) == TSPIKE_OK);
  CHECK(binning.struct_size == sizeof binning);
  CHECK(binning.width == 34 && binning.height == 34 && binning.polarities == 2);
  CHECK(binning.slicing == TSPIKE_SLICE_TIME_BINS && binning.bins == timesteps && !binning.binary);

  frames =
      tspike_events_to_frames(model, tspike_events_data(events), tspike_events_count(events), NULL, &status);
  CHECK(frames != NULL && status == NULL);
  if (!frames) return 1;
  frame_count = tspike_frames_count(frames);
  CHECK(frame_count == (size_t)timesteps);
  rank = tspike_frames_rank(frames);
  CHECK(rank == 4 && tspike_frames_dim(frames, 0) == 1 && tspike_frames_dim(frames, 1) == 2 &&
        tspike_frames_dim(frames, 3) == 34);
  CHECK(tspike_frames_data(frames, frame_count) == NULL);

  /* One run over all frames [T, 1, 2, 34, 34] (they are contiguous)... */
  session = tspike_session_create(model, 0, 1, &status);
  CHECK(session != NULL);
  if (!session) return 1;
  shape[0] = (long)frame_count;
  for (i = 0; i < rank; ++i) shape[i + 1] = tspike_frames_dim(frames, i);
  CHECK(tspike_session_run(session, tspike_frames_data(frames, 0), shape, rank + 1, &status) == TSPIKE_OK);
  CHECK(tspike_session_output_size(session, 0) == classes);
  mean = (float*)calloc(classes, sizeof(float));
  /* ...equals the mean of frame-by-frame steps (the model's readout is the mean). */
  CHECK(tspike_session_reset(session, &status) == TSPIKE_OK);
  for (t = 0; t < frame_count; ++t) {
    CHECK(tspike_session_step(session, tspike_frames_data(frames, t), shape + 1, rank, &status) == TSPIKE_OK);
    for (i = 0; i < classes; ++i) mean[i] += tspike_session_output_data(session, 0)[i] / (float)frame_count;
  }
  {
    tspike_session* batch = tspike_session_create(model, 0, 1, &status);
    CHECK(tspike_session_run(batch, tspike_frames_data(frames, 0), shape, rank + 1, &status) == TSPIKE_OK);
    for (i = 0; i < classes; ++i)
      CHECK(fabs(mean[i] - tspike_session_output_data(batch, 0)[i]) <= 1e-4 * (1 + fabs(mean[i])));
    tspike_session_free(batch);
  }
  free(mean);
  tspike_frames_free(frames);

  /* A binning struct of an older, shorter layout: the fields it lacks keep
   * the model's values. Here: time windows of 50 ms. */
  memset(&binning, 0, sizeof binning);
  binning.struct_size = offsetof(tspike_binning, time_window) + sizeof(double);
  CHECK(tspike_model_binning(model, &binning, &status) == TSPIKE_OK);
  CHECK(binning.struct_size == offsetof(tspike_binning, time_window) + sizeof(double));
  CHECK(binning.event_count == 0); /* not written: beyond its struct_size */
  binning.slicing = TSPIKE_SLICE_TIME_WINDOW;
  binning.time_window = 50000;
  frames = tspike_events_to_frames(model, tspike_events_data(events), tspike_events_count(events), &binning,
                                   &status);
  CHECK(frames != NULL && status == NULL);
  { /* ToFrame's count: floor((duration - window) / window) + 1 */
    const tspike_event* e = tspike_events_data(events);
    const double duration = e[tspike_events_count(events) - 1].t - e[0].t;
    CHECK(tspike_frames_count(frames) == (size_t)(floor((duration - 50000) / 50000) + 1));
    CHECK(tspike_frames_count(frames) >= 5);
  }
  tspike_frames_free(frames);

  /* Errors: an event off the sensor, a binning without struct_size, a missing file. */
  bad_event.t = 0;
  bad_event.x = 40;
  bad_event.y = 0;
  bad_event.p = 1;
  CHECK(tspike_events_to_frames(model, &bad_event, 1, NULL, &status) == NULL);
  CHECK(tspike_status_code(status) == TSPIKE_ERR_BAD_INPUT);
  CHECK(strstr(tspike_status_message(status), "outside the sensor") != NULL);
  tspike_status_free(status);
  binning.struct_size = 0;
  CHECK(tspike_events_to_frames(model, &bad_event, 1, &binning, &status) == NULL);
  CHECK(tspike_status_code(status) == TSPIKE_ERR_BAD_INPUT);
  tspike_status_free(status);
  CHECK(tspike_events_read("/nonexistent/rec.bin", model, &status) == NULL);
  CHECK(tspike_status_code(status) == TSPIKE_ERR_IO);
  tspike_status_free(status);

  tspike_events_free(events);
  tspike_session_free(session);
  tspike_model_free(model);
  if (failures) fprintf(stderr, "%d checks failed\n", failures);
  return failures ? 1 : 0;
}
