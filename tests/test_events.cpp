// SPDX-License-Identifier: Apache-2.0
// Event recordings: the readers (N-MNIST, EVT 2.0, NumPy .npy / .npz), their
// refusals of broken and hostile files, and the binning into frames against
// Tonic's ToFrame arithmetic (fixtures from tests/events/make_events.py).
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include "tests/model_builder.hpp"
#include "tests/test_util.hpp"
#include "tspike/tspike.hpp"

namespace tspike {
namespace {

std::string fixture(const std::string& name) { return test::source_path("tests/events/" + name); }

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), {}};
}

// The events every fixture holds: events.npy, int64 [N, 4] (t, x, y, p), read by hand (load_npy reads float32
// only).
std::vector<Event> expected_events() {
  const std::string bytes = read_file(fixture("events.npy"));
  // A .npy of int64 [N, 4]: the header ends at the first '\n'.
  const std::size_t data = bytes.find('\n') + 1;
  const std::size_t n = (bytes.size() - data) / 32;
  std::vector<Event> events(n);
  for (std::size_t i = 0; i < n; ++i) {
    int64_t v[4];
    std::memcpy(v, bytes.data() + data + 32 * i, 32);
    events[i] = Event{v[0], uint16_t(v[1]), uint16_t(v[2]), uint8_t(v[3])};
  }
  return events;
}

void expect_same_events(const std::vector<Event>& got, const std::vector<Event>& want,
                        const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (std::size_t i = 0; i < want.size(); ++i) {
    ASSERT_EQ(got[i].t, want[i].t) << what << " event " << i;
    ASSERT_EQ(got[i].x, want[i].x) << what << " event " << i;
    ASSERT_EQ(got[i].y, want[i].y) << what << " event " << i;
    ASSERT_EQ(got[i].p, want[i].p) << what << " event " << i;
  }
}

TEST(Events, EveryFormatReadsTheSameRecording) {
  const std::vector<Event> want = expected_events();
  ASSERT_EQ(want.size(), 300u);
  struct Case {
    const char* file;
    EventFormat format;
  };
  for (const Case& c :
       {Case{"recording.bin", EventFormat::kNMnist}, Case{"recording.raw", EventFormat::kEvt2},
        Case{"recording.npy", EventFormat::kNumpy}, Case{"recording_aligned.npy", EventFormat::kNumpy},
        Case{"recording_fields.npz", EventFormat::kNumpy},
        Case{"recording_structured.npz", EventFormat::kNumpy}}) {
    const EventRecording rec = read_events(fixture(c.file));
    EXPECT_EQ(rec.format, c.format) << c.file;
    expect_same_events(rec.events, want, c.file);
    const std::string bytes = read_file(fixture(c.file));
    expect_same_events(read_events_from_memory(bytes.data(), bytes.size(), c.file).events, want,
                       std::string(c.file) + " from memory");
  }
  const EventRecording raw = read_events(fixture("recording.raw"));
  EXPECT_EQ(raw.width, 16);
  EXPECT_EQ(raw.height, 16);
}

std::string nmnist_record(int x, int y, int p, int64_t ts) {
  return {char(x), char(y), char((p << 7) | ((ts >> 16) & 0x7F)), char((ts >> 8) & 0xFF), char(ts & 0xFF)};
}

EventRecording nmnist(const std::string& bytes, const Limits& limits = {}) {
  return read_events_from_memory(bytes.data(), bytes.size(), "x.bin", EventFormat::kNMnist, limits);
}

TEST(Events, NMnistTimestampRollOver) {
  // An overflow marker (y == 240) adds 2^13 us to the timestamps after it;
  // a drop of more than half the 23-bit range is the counter wrapping.
  const int64_t top = (int64_t{1} << 23) - 10;
  const std::string bytes = nmnist_record(1, 2, 1, 100) + nmnist_record(0, 240, 0, 0) +
                            nmnist_record(3, 4, 0, 50) + nmnist_record(5, 6, 1, top) +
                            nmnist_record(7, 8, 0, 5);
  const auto ev = nmnist(bytes).events;
  ASSERT_EQ(ev.size(), 4u);
  EXPECT_EQ(ev[0].t, 100);
  EXPECT_EQ(ev[1].t, 50 + 8192);
  EXPECT_EQ(ev[2].t, top + 8192);
  EXPECT_EQ(ev[3].t, 5 + 8192 + (int64_t{1} << 23));
  EXPECT_EQ(ev[0].p, 1);
  EXPECT_EQ(ev[3].x, 7);
  EXPECT_EQ(ev[3].y, 8);
}

void expect_error(ErrorCode code, const std::string& needle, const std::function<void()>& f) {
  try {
    f();
    ADD_FAILURE() << "no error; expected one containing '" << needle << "'";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(Events, NMnistRefusesBrokenFiles) {
  expect_error(ErrorCode::kParse, "not a whole number of 5-byte events",
               [] { nmnist(nmnist_record(1, 2, 0, 5) + "ab"); });
  expect_error(ErrorCode::kParse, "is before the one before it",
               [] { nmnist(nmnist_record(1, 2, 0, 500) + nmnist_record(1, 2, 0, 400)); });
  Limits small;
  small.max_events = 2;
  expect_error(ErrorCode::kResourceLimit, "more than the limit of 2", [&] {
    nmnist(nmnist_record(1, 2, 0, 1) + nmnist_record(1, 2, 0, 2) + nmnist_record(1, 2, 0, 3), small);
  });
  small = Limits{};
  small.max_file_bytes = 9;
  expect_error(ErrorCode::kResourceLimit, "more than the limit of 9",
               [&] { nmnist(nmnist_record(1, 2, 0, 1) + nmnist_record(1, 2, 0, 2), small); });
  expect_error(ErrorCode::kIO, "cannot open", [] { read_events("/nonexistent/rec.bin"); });
  EXPECT_TRUE(nmnist("").events.empty());
}

std::string evt2(const std::string& header, const std::vector<uint32_t>& words) {
  std::string s = header;
  for (uint32_t w : words) s += std::string{char(w), char(w >> 8), char(w >> 16), char(w >> 24)};
  return s;
}

EventRecording read_raw(const std::string& bytes) {
  return read_events_from_memory(bytes.data(), bytes.size(), "x.raw", EventFormat::kAuto);
}

TEST(Events, Evt2WordsAndHeader) {
  const uint32_t cd_on = 1u << 28, high = 8u << 28;
  // A CD event before any time-high is skipped; time-high wraps at 2^28.
  const std::string bytes =
      evt2("% geometry 640x480\n% evt 2.0\n",
           {cd_on | (9u << 11) | 9u, high | 0x0FFFFFFFu, (7u << 22) | (600u << 11) | 400u, (10u << 28) | 1u,
            high | 2u, cd_on | (1u << 22) | (2u << 11) | 3u});
  const EventRecording rec = read_raw(bytes);
  EXPECT_EQ(rec.format, EventFormat::kEvt2);
  EXPECT_EQ(rec.width, 640);
  EXPECT_EQ(rec.height, 480);
  ASSERT_EQ(rec.events.size(), 2u);
  EXPECT_EQ(rec.events[0].t, (int64_t{0x0FFFFFFF} << 6) | 7);
  EXPECT_EQ(rec.events[0].x, 600);
  EXPECT_EQ(rec.events[0].y, 400);
  EXPECT_EQ(rec.events[0].p, 0);
  EXPECT_EQ(rec.events[1].t, ((int64_t{1} << 28) + 2) << 6 | 1);
  EXPECT_EQ(rec.events[1].p, 1);

  expect_error(ErrorCode::kBadInput, "only EVT 2.0", [&] { read_raw(evt2("% evt 3.0\n", {})); });
  expect_error(ErrorCode::kBadInput, "only EVT2",
               [&] { read_raw(evt2("% format EVT3;height=720;width=1280\n", {})); });
  expect_error(ErrorCode::kParse, "reserved type 3", [&] { read_raw(evt2("% end\n", {3u << 28})); });
  expect_error(ErrorCode::kParse, "whole number of 32-bit words",
               [&] { read_raw(evt2("% end\n", {high}) + "x"); });
  expect_error(ErrorCode::kParse, "is before the one before it", [&] {
    read_raw(evt2("", {high | 5u, cd_on, high | 4u, cd_on}));
  });
}

std::string npy(const std::string& descr, int64_t n, const std::string& data) {
  std::string header =
      "{'descr': " + descr + ", 'fortran_order': False, 'shape': (" + std::to_string(n) + ",), }";
  header += std::string(63 - (10 + header.size()) % 64, ' ') + "\n";
  std::string out = "\x93NUMPY\x01";
  out += '\0';
  out += char(header.size() & 0xFF);
  out += char(header.size() >> 8);
  return out + header + data;
}

EventRecording read_npy_events(const std::string& bytes, const Limits& limits = {}) {
  return read_events_from_memory(bytes.data(), bytes.size(), "x.npy", EventFormat::kAuto, limits);
}

TEST(Events, NumpyRefusals) {
  const std::string descr = "[('t', '<i4'), ('x', '|u1'), ('y', '|u1'), ('p', '|i1')]";
  auto record = [](int32_t t, int x, int y, int p) {
    std::string r(7, '\0');
    std::memcpy(r.data(), &t, 4);
    r[4] = char(x), r[5] = char(y), r[6] = char(p);
    return r;
  };
  const auto ok = read_npy_events(npy(descr, 2, record(5, 1, 2, -1) + record(6, 3, 4, 1))).events;
  ASSERT_EQ(ok.size(), 2u);
  EXPECT_EQ(ok[0].p, 0);  // -1 is OFF
  EXPECT_EQ(ok[1].p, 1);
  EXPECT_EQ(ok[1].t, 6);

  expect_error(ErrorCode::kBadInput, "no numeric field 'p'",
               [&] { read_npy_events(npy("[('t', '<i8'), ('x', '<i8'), ('y', '<i8')]", 0, "")); });
  expect_error(ErrorCode::kBadInput, "a plain array", [&] { read_npy_events(npy("'<f4'", 1, "abcd")); });
  expect_error(ErrorCode::kParse, "need 14 bytes of data",
               [&] { read_npy_events(npy(descr, 2, record(5, 1, 2, 0))); });
  expect_error(ErrorCode::kBadInput, "p must be 0, 1 or -1",
               [&] { read_npy_events(npy(descr, 1, record(5, 1, 2, 3))); });
  expect_error(ErrorCode::kParse, "events must be in time order",
               [&] { read_npy_events(npy(descr, 2, record(6, 1, 2, 0) + record(5, 1, 2, 0))); });
  expect_error(ErrorCode::kBadInput, "sub-array shape",
               [&] { read_npy_events(npy("[('t', '<i8', (2,)), ('x', '<i8')]", 0, "")); });
  Limits small;
  small.max_events = 1;
  // The count in the header is refused before anything is allocated, even
  // when the file is far too short to hold it.
  expect_error(ErrorCode::kResourceLimit, "more than the limit of 1",
               [&] { read_npy_events(npy(descr, int64_t{1} << 40, ""), small); });
  expect_error(ErrorCode::kParse, "no zip directory",
               [] { read_npy_events(std::string("PK\x03\x04") + std::string(40, 'z')); });

  // A deflated member whose directory claims more than the limits allow.
  std::string npz = read_file(fixture("recording_structured.npz"));
  small = Limits{};
  small.max_file_bytes = npz.size() + 10;  // the archive fits, its inflated member does not
  expect_error(ErrorCode::kResourceLimit, "uncompressed, more than the limit",
               [&] { read_events_from_memory(npz.data(), npz.size(), "x.npz", EventFormat::kAuto, small); });
  // Corrupt the deflate stream: a clear error, never a crash.
  const std::size_t data_at = npz.find("PK\x03\x04") + 30 + 20;
  for (std::size_t i = data_at; i < data_at + 40 && i < npz.size(); ++i) npz[i] = char(~npz[i]);
  expect_error(ErrorCode::kParse, "", [&] { read_events_from_memory(npz.data(), npz.size(), "x.npz"); });
}

Tensor load_frames(const std::string& name) { return load_npy(fixture("frames_" + name + ".npy")); }

void expect_frames(const Tensor& got, const Tensor& want, const std::string& what) {
  ASSERT_EQ(got.shape, want.shape) << what;
  for (std::size_t i = 0; i < want.data.size(); ++i)
    ASSERT_EQ(got.data[i], want.data[i]) << what << " at " << i;
}

TEST(Events, BinningMatchesToFrame) {
  const std::vector<Event> ev = expected_events();
  EventBinning b;
  b.width = b.height = 16;
  b.polarities = 2;
  using S = EventBinning::Slicing;
  struct Case {
    const char* name;
    S slicing;
    int64_t n;
    bool incomplete;
  };
  for (const Case& c :
       {Case{"time_bins_7", S::kTimeBins, 7, false}, Case{"event_bins_7", S::kEventBins, 7, false},
        Case{"time_window_5000", S::kTimeWindow, 5000, false},
        Case{"time_window_5000_incomplete", S::kTimeWindow, 5000, true},
        Case{"event_count_64", S::kEventCount, 64, false},
        Case{"event_count_64_incomplete", S::kEventCount, 64, true}}) {
    b.slicing = c.slicing;
    b.bins = c.n;
    b.time_window = double(c.n);
    b.event_count = c.n;
    b.include_incomplete = c.incomplete;
    expect_frames(events_to_frames(ev, b), load_frames(c.name), c.name);
  }
  b.slicing = S::kTimeBins;
  b.bins = 7;
  b.polarities = 1;
  b.binary = true;
  expect_frames(events_to_frames(ev, b), load_frames("time_bins_7_merged_binary"), "merged binary");
}

TEST(Events, BinEdgesByHand) {
  // Timestamps 0..10 (11 events): 3 time bins of (10 - 0) // 3 = 3 us:
  // [0,3) [3,6) [6,9); the events at 9 and 10 fall after the last bin,
  // as in ToFrame.
  std::vector<Event> ev;
  for (int t = 0; t <= 10; ++t) ev.push_back(Event{t, 0, 0, 1});
  EventBinning b;
  b.width = b.height = 1;
  b.bins = 3;
  using P = std::vector<std::pair<int64_t, int64_t>>;
  EXPECT_EQ(event_slices(ev, b), (P{{0, 3}, {3, 6}, {6, 9}}));
  b.slicing = EventBinning::Slicing::kEventBins;  // 11 // 3 = 3 events each
  EXPECT_EQ(event_slices(ev, b), (P{{0, 3}, {3, 6}, {6, 9}}));
  b.slicing = EventBinning::Slicing::kTimeWindow;  // floor((10 - 4) / 4) + 1 = 2 windows
  b.time_window = 4;
  EXPECT_EQ(event_slices(ev, b), (P{{0, 4}, {4, 8}}));
  b.include_incomplete = true;  // ceil: 3 windows, the last [8, 12)
  EXPECT_EQ(event_slices(ev, b), (P{{0, 4}, {4, 8}, {8, 11}}));
  b.slicing = EventBinning::Slicing::kEventCount;
  b.event_count = 4;
  EXPECT_EQ(event_slices(ev, b), (P{{0, 4}, {4, 8}, {8, 11}}));
  b.include_incomplete = false;
  EXPECT_EQ(event_slices(ev, b), (P{{0, 4}, {4, 8}}));
  // An empty recording: the bins modes give their frames, empty; the others one empty frame.
  EXPECT_EQ(event_slices({}, b), (P{{0, 0}}));
  b.slicing = EventBinning::Slicing::kTimeBins;
  EXPECT_EQ(event_slices({}, b), (P{{0, 0}, {0, 0}, {0, 0}}));
  // A duration shorter than the bin count: windows of 0 us, every frame empty.
  EXPECT_EQ(event_slices({Event{5, 0, 0, 0}, Event{6, 0, 0, 0}}, b), (P{{0, 0}, {0, 0}, {0, 0}}));
}

TEST(Events, BinningRefusals) {
  EventBinning b;
  b.width = b.height = 4;
  b.bins = 2;
  expect_error(ErrorCode::kBadInput, "outside the sensor", [&] { events_to_frames({Event{0, 4, 0, 0}}, b); });
  expect_error(ErrorCode::kBadInput, "earlier timestamp", [&] {
    events_to_frames({Event{5, 0, 0, 0}, Event{4, 0, 0, 0}}, b);
  });
  b.bins = 0;
  expect_error(ErrorCode::kBadInput, "must be >= 1", [&] { events_to_frames({Event{0, 0, 0, 0}}, b); });
  b.slicing = EventBinning::Slicing::kEventCount;
  b.event_count = 0;
  expect_error(ErrorCode::kBadInput, "must be >= 1", [&] { events_to_frames({Event{0, 0, 0, 0}}, b); });
  b.slicing = EventBinning::Slicing::kTimeWindow;
  b.time_window = 0;
  expect_error(ErrorCode::kBadInput, "time_window > 0", [&] { events_to_frames({Event{0, 0, 0, 0}}, b); });
  b.time_window = 1;
  Limits limits;
  limits.max_timesteps = 100;
  // 10^12 one-microsecond windows are refused before any is made.
  expect_error(ErrorCode::kResourceLimit, "more than the limit of 100 timesteps", [&] {
    events_to_frames({Event{0, 0, 0, 0}, Event{1000000000000, 0, 0, 0}}, b, limits);
  });
  b.slicing = EventBinning::Slicing::kTimeBins;
  b.bins = 50;
  b.width = b.height = 1000;
  limits.max_tensor_elements = 1000000;
  expect_error(ErrorCode::kResourceLimit, "elements", [&] { events_to_frames({}, b, limits); });
}

// A sequence model over 2 x 4 x 4 frames: Conv -> TernarySpike -> Flatten -> Gemm.
test::ModelBuilder event_model() {
  std::mt19937 rng(5);
  test::ModelBuilder m({-1, 2, 4, 4});
  m.initializer("w", {3, 2, 3, 3}, test::random_weights(rng, 54, 0.6f))
      .initializer("fc", {10, 48}, test::random_weights(rng, 480, 0.5f));
  m.node("Conv", "conv", {"x", "w"}, {"c"}).ints("pads", {1, 1, 1, 1});
  m.spike("spike", "c", "s");
  m.node("Flatten", "flatten", {"s"}, {"f"});
  m.node("Gemm", "fc", {"f", "fc"}, {"y"}).i("transB", 1);
  m.output("y")
      .metadata("tspike.encoding", "sequence")
      .metadata("tspike.events.sensor_size", "4,4,2")
      .metadata("tspike.events.n_time_bins", "5");
  return m;
}

TEST(Events, ModelMetadata) {
  const auto model = event_model().load();
  ASSERT_TRUE(has_event_binning(model->info()));
  const EventBinning b = event_binning(model->info());
  EXPECT_EQ(b.width, 4);
  EXPECT_EQ(b.height, 4);
  EXPECT_EQ(b.polarities, 2);
  EXPECT_EQ(b.slicing, EventBinning::Slicing::kTimeBins);
  EXPECT_EQ(b.bins, 5);
  EXPECT_FALSE(b.binary);

  auto refused = [](const char* key, const char* value, const std::string& needle) {
    test::ModelBuilder m = event_model();
    m.metadata(key, value);
    const auto model = m.load();
    expect_error(ErrorCode::kBadInput, needle, [&] { event_binning(model->info()); });
  };
  refused("tspike.events.time_window", "1000", "exactly one of");
  refused("tspike.events.sensor_size", "4,4", "width,height,polarities");
  refused("tspike.events.sensor_size", "4,5,2", "does not fit its input");
  refused("tspike.events.frame", "log", "expected counts or binary");
  refused("tspike.events.n_time_bin", "4", "unknown key");
  refused("tspike.encoding", "direct", "tspike.encoding = sequence");
  test::ModelBuilder plain_builder({-1, 2});
  plain_builder.node("Relu", "relu", {"x"}, {"y"});
  const auto plain = plain_builder.output("y").load();
  expect_error(ErrorCode::kBadInput, "has no tspike.events.sensor_size",
               [&] { event_binning(plain->info()); });
}

// What a live camera does: frame by frame through step(), the running
// readout after each frame. After the last frame it must equal one run()
// over all frames, exactly; and step() outputs are those of run()'s
// timesteps (the readout of the first k frames equals a run over them).
TEST(Events, StreamingEqualsRun) {
  const auto model = event_model().load();
  std::mt19937 rng(3);
  std::vector<Event> ev;
  for (int i = 0; i < 400; ++i)
    ev.push_back(Event{int64_t(i) * 37 + int64_t(rng() % 30), uint16_t(rng() % 4), uint16_t(rng() % 4),
                       uint8_t(rng() % 2)});
  std::sort(ev.begin(), ev.end(), [](const Event& a, const Event& b) { return a.t < b.t; });
  const Tensor input = events_to_input(ev, model->info());
  ASSERT_EQ(input.shape, (Shape{5, 1, 2, 4, 4}));

  Session session(model);
  const std::vector<Tensor> batch = session.run(input);
  Session stream(model);
  stream.reset();
  const int64_t frame = element_count(input.shape) / 5;
  for (int t = 0; t < 5; ++t) {
    Tensor f({1, 2, 4, 4},
             std::vector<float>(input.data.begin() + t * frame, input.data.begin() + (t + 1) * frame));
    stream.step(f);
    // The running readout after t + 1 frames is a run over those frames.
    Tensor first({t + 1, 1, 2, 4, 4},
                 std::vector<float>(input.data.begin(), input.data.begin() + (t + 1) * frame));
    Session partial(model);
    EXPECT_EQ(stream.readout()[0].data, partial.run(first)[0].data) << "after frame " << t;
  }
  EXPECT_EQ(stream.readout()[0].data, batch[0].data);
  EXPECT_EQ(stream.stats().spike_counts, session.stats().spike_counts);
}

}  // namespace
}  // namespace tspike
