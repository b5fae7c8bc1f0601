// SPDX-License-Identifier: Apache-2.0
#include "tools/profile_report.hpp"

#include <fmt/format.h>

#include <algorithm>

namespace tspike::cli {

namespace {

const char* kEnergySource = "45 nm, Horowitz ISSCC 2014: 0.9 pJ per AC, 4.6 pJ per MAC";
const char* kDenseAssumption =
    "the same network as a dense ANN: every Conv, Gemm and MatMul once per inference (T = 1) on real "
    "values, every connection a MAC; neurons, pooling and bias not counted";

const char* synapse_name(SynapseKind k) {
  return k == SynapseKind::kAccumulate ? "AC" : k == SynapseKind::kMultiplyAccumulate ? "MAC" : "";
}

std::string density_text(const NodeProfile& n) {
  if (!n.neuron) return "-";
  std::string s;
  for (size_t t = 0; t < n.density.size(); ++t) {
    if (t == 8) return s + " ...";  // the JSON and the report have them all
    s += fmt::format("{}{:.1f}%", t ? " " : "", 100 * n.density[t]);
  }
  return s;
}

// JSON inside <script>: '<', '>' and '&' only occur in strings, where \u escapes mean the same.
std::string script_safe_json(const nlohmann::json& j) {
  std::string out;
  for (char c : j.dump()) {
    if (c == '<')
      out += "\\u003c";
    else if (c == '>')
      out += "\\u003e";
    else if (c == '&')
      out += "\\u0026";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string html_escape(const std::string& text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string profile_table(const Profile& p) {
  size_t name_width = 4, op_width = 2;
  for (const auto& n : p.nodes)
    if (!n.folded) {
      name_width = std::max(name_width, std::min<size_t>(n.name.size(), 60));  // longer names overflow
      op_width = std::max(op_width, n.op_type.size());
    }
  std::string s = fmt::format("profile: {} timesteps, batch {}, {}; energy {}\n", p.timesteps, p.batch,
                              p.layer_major ? "layer by layer" : "timestep by timestep", kEnergySource);
  s += fmt::format("{:<{}} {:<{}} {:<16} {:>9} {:>9}  {:<34} {:>12} {:>12} {:>11}\n", "node", name_width,
                   "op", op_width, "output", "time ms", "ms/step", "spike density per timestep", "AC", "MAC",
                   "energy nJ");
  int folded = 0;
  for (const auto& n : p.nodes) {
    if (n.folded) {
      ++folded;
      continue;
    }
    const std::string time = fmt::format("{:.3f}", n.total_time_ms);
    const std::string per_step = fmt::format("{:.3f}", p.timesteps ? n.total_time_ms / p.timesteps : 0.0);
    const bool layer = n.synapses != SynapseKind::kNone;
    s += fmt::format("{:<{}} {:<{}} {:<16} {:>9} {:>9}  {:<34} {:>12} {:>12} {:>11}\n", n.name, name_width,
                     n.op_type, op_width, shape_to_string(n.output_shape), time, per_step, density_text(n),
                     layer ? fmt::format("{}", n.ac) : "", layer ? fmt::format("{}", n.mac) : "",
                     layer ? fmt::format("{:.3f}", n.energy_pj / 1000) : "");
  }
  if (folded) s += fmt::format("({} nodes folded into constants when planning: not shown)\n", folded);
  s += fmt::format("total: {:.3f} ms in nodes, {} AC, {} MAC, SNN energy {:.3f} nJ\n", p.time_ms, p.ac, p.mac,
                   p.energy_pj / 1000);
  s += fmt::format(
      "dense ANN (every Conv/Gemm/MatMul once, T = 1, every connection a MAC): {} MAC, energy {:.3f} nJ\n",
      p.dense_macs, p.dense_energy_pj / 1000);
  s += fmt::format("energy ratio dense ANN / SNN: {:.2f}\n", p.energy_ratio());
  return s;
}

nlohmann::json profile_json(const Profile& p) {
  nlohmann::json j;
  j["timesteps"] = p.timesteps;
  j["layer_major"] = p.layer_major;
  j["batch"] = p.batch;
  j["time_ms"] = p.time_ms;
  j["ac"] = p.ac;
  j["mac"] = p.mac;
  j["dense_macs"] = p.dense_macs;
  j["energy_pj"] = p.energy_pj;
  j["dense_energy_pj"] = p.dense_energy_pj;
  j["energy_ratio"] = p.energy_ratio();
  j["pj_per_ac"] = kPicojoulesPerAC;
  j["pj_per_mac"] = kPicojoulesPerMAC;
  j["energy_source"] = kEnergySource;
  j["dense_ann"] = kDenseAssumption;
  j["nodes"] = nlohmann::json::array();
  for (const auto& n : p.nodes) {
    nlohmann::json node = {{"name", n.name},     {"op", n.op_type},      {"output_shape", n.output_shape},
                           {"folded", n.folded}, {"time_ms", n.time_ms}, {"total_time_ms", n.total_time_ms}};
    if (n.neuron) {
      node["density"] = n.density;
      node["spikes"] = n.spikes;
    }
    if (n.synapses != SynapseKind::kNone) {
      node["synapses"] = synapse_name(n.synapses);
      node["ops"] = n.ops;
      node["ac"] = n.ac;
      node["mac"] = n.mac;
      node["dense_macs"] = n.dense_macs;
      node["energy_pj"] = n.energy_pj;
      node["dense_energy_pj"] = n.dense_energy_pj;
    }
    j["nodes"].push_back(std::move(node));
  }
  return j;
}

namespace {

// The input, the predictions and each layer's kernel, as HTML tables.
std::string run_tables(const ReportRun& run, const ModelInfo& info) {
  std::string html = "<h2>Run</h2>\n<table id=\"run\">\n";
  auto row = [&html](const std::string& name, const std::string& value) {
    html += "<tr><th>" + html_escape(name) + "</th><td>" + html_escape(value) + "</td></tr>\n";
  };
  row("input", run.input.empty() ? "(not given)" : run.input);
  row("input shape", shape_to_string(run.input_shape));
  for (size_t s = 0; s < run.predictions.size(); ++s) {
    const auto& p = run.predictions[s];
    row(run.predictions.size() > 1 ? fmt::format("prediction, sample {}", s) : "prediction",
        fmt::format("{} (class {}, p = {:.4f})", p.label, p.index, p.probability));
  }
  html +=
      "</table>\n<h2>Layers and their kernels</h2>\n<table id=\"layers\">\n"
      "<tr><th>node</th><th>op</th><th>kernel</th><th>arithmetic</th></tr>\n";
  for (const auto& l : info.layers)
    html += "<tr><td>" + html_escape(l.node) + "</td><td>" + html_escape(l.op_type) + "</td><td>" +
            html_escape(l.kernel) + "</td><td>" +
            (l.multiplication_free ? "multiplication-free" : "multiplicative") + "</td></tr>\n";
  return html + "</table>\n";
}

}  // namespace

std::string profile_html(const Profile& p, const ModelInfo& info, const ReportRun& run) {
  nlohmann::json data = profile_json(p);
  data["model"] = info.path;
  std::string page = R"(<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'">
<title>tspike profile: )" +
                     html_escape(info.path) + R"(</title>
<style>
body { font: 14px sans-serif; margin: 1.5em; color: #222; }
h1 { font-size: 1.3em; } h2 { font-size: 1.1em; margin-top: 1.8em; }
table { border-collapse: collapse; } td, th { padding: 2px 8px; border-bottom: 1px solid #ddd; text-align: right; }
td:first-child, th:first-child, #nodes td:nth-child(-n+3), #nodes th:nth-child(-n+3) { text-align: left; }
svg text { font: 11px sans-serif; fill: #222; }
.note { color: #555; max-width: 60em; }
</style></head>
<body data-rendered="no">
<h1>tspike profile: )" +
                     html_escape(info.path) + R"(</h1>
<p class="note" id="summary"></p>
)" + run_tables(run, info) +
                     R"(<h2>Totals</h2>
<table id="totals"></table>
<h2>Spike density per layer (mean over timesteps)</h2><div id="density"></div>
<h2>Spike density per layer and timestep</h2><div id="density-time"></div>
<h2>Time per node (all timesteps)</h2><div id="time"></div>
<h2>Energy per layer: SNN run vs the same network as a dense ANN</h2><div id="energy"></div>
<h2>Nodes</h2><table id="nodes"></table>
<noscript><p>The charts are drawn by the page's inline script.</p></noscript>
<script type="application/json" id="profile-data">)" +
                     script_safe_json(data) + R"(</script>
<script>
"use strict";
)" + R"JS(
const NS = "http://www.w3.org/2000/svg";
function el(name, attrs, parent) {
  const e = document.createElementNS(NS, name);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  if (parent) parent.appendChild(e);
  return e;
}
function text(parent, x, y, s, anchor) {
  const t = el("text", {x: x, y: y, "text-anchor": anchor || "start"}, parent);
  t.textContent = s;
  return t;
}
function short(s) { return s.length > 40 ? s.slice(0, 39) + "\u2026" : s; }
function fmt(v, digits) { return Number(v).toFixed(digits); }
// Horizontal bars: rows of {label, values: [v...]}, one color per series.
function barChart(id, rows, series, unit, digits) {
  const rowH = 14 * series.length + 8, left = 280, width = 460;
  const h = rows.length * rowH + 40;
  const svg = el("svg", {id: "chart-" + id, width: left + width + 120, height: h, role: "img"});
  let max = 0;
  for (const r of rows) for (const v of r.values) max = Math.max(max, v);
  let bars = 0;
  rows.forEach((r, i) => {
    const y = 10 + i * rowH;
    const label = text(svg, left - 6, y + rowH / 2 + 2, short(r.label), "end");
    el("title", {}, label).textContent = r.label;
    r.values.forEach((v, s) => {
      const w = max > 0 ? v / max * width : 0;
      const bar = el("rect", {class: "bar", x: left, y: y + s * 14, width: Math.max(w, 0), height: 12,
                              fill: series[s].color}, svg);
      el("title", {}, bar).textContent = r.label + " (" + series[s].name + "): " + fmt(v, digits) + " " + unit;
      text(svg, left + w + 4, y + s * 14 + 10, fmt(v, digits) + " " + unit);
      bars++;
    });
  });
  series.forEach((s, k) => {
    el("rect", {x: left + k * 150, y: h - 22, width: 12, height: 12, fill: s.color}, svg);
    text(svg, left + k * 150 + 16, h - 12, s.name);
  });
  svg.setAttribute("data-bars", bars);
  document.getElementById(id).appendChild(svg);
}
function heatmap(id, rows, steps) {
  const cell = 26, left = 280, top = 24;
  const svg = el("svg", {id: "chart-" + id, width: left + Math.max(steps * cell, 220) + 40,
                         height: top + rows.length * cell + 30, role: "img"});
  let max = 0;
  for (const r of rows) for (const v of r.values) max = Math.max(max, v);
  for (let t = 0; t < steps; ++t) text(svg, left + t * cell + cell / 2, top - 6, "t" + t, "middle");
  let cells = 0;
  rows.forEach((r, i) => {
    const label = text(svg, left - 6, top + i * cell + cell / 2 + 4, short(r.label), "end");
    el("title", {}, label).textContent = r.label;
    r.values.forEach((v, t) => {
      const a = max > 0 ? v / max : 0;
      const c = el("rect", {class: "bar", x: left + t * cell, y: top + i * cell, width: cell - 2, height: cell - 2,
                            fill: "rgba(200,60,20," + (0.08 + 0.92 * a).toFixed(3) + ")"}, svg);
      el("title", {}, c).textContent = r.label + ", timestep " + t + ": " + fmt(100 * v, 2) + "%";
      cells++;
    });
  });
  text(svg, left, top + rows.length * cell + 18, "darker = denser; max " + fmt(100 * max, 2) + "%");
  svg.setAttribute("data-bars", cells);
  document.getElementById(id).appendChild(svg);
}
function row(table, cells, header) {
  const tr = document.createElement("tr");
  for (const c of cells) {
    const td = document.createElement(header ? "th" : "td");
    td.textContent = c;
    tr.appendChild(td);
  }
  table.appendChild(tr);
}
function render() {
  const p = JSON.parse(document.getElementById("profile-data").textContent);
  const nodes = p.nodes.filter(n => !n.folded);
  const spikes = nodes.filter(n => n.density);
  const layers = nodes.filter(n => n.synapses);
  const mean = a => a.length ? a.reduce((x, y) => x + y, 0) / a.length : 0;
  document.getElementById("summary").textContent =
    "Model " + p.model + ", " + p.timesteps + " timesteps, batch " + p.batch +
    (p.layer_major ? ", layer by layer" : ", timestep by timestep") + ". Energy: " + p.energy_source +
    ". An accumulate (AC) per nonzero input spike and output value it reaches in layers fed by spikes; a " +
    "multiply-accumulate (MAC) per connection in layers with real-valued input. Dense ANN: " + p.dense_ann + ".";
  const totals = document.getElementById("totals");
  row(totals, ["", "AC", "MAC", "energy (nJ)"], true);
  row(totals, ["SNN, " + p.timesteps + " timesteps", p.ac, p.mac, fmt(p.energy_pj / 1000, 3)]);
  row(totals, ["dense ANN, one pass", 0, p.dense_macs, fmt(p.dense_energy_pj / 1000, 3)]);
  row(totals, ["ratio dense ANN / SNN", "", "", fmt(p.energy_ratio, 2)]);
  row(totals, ["time in nodes (ms)", "", "", fmt(p.time_ms, 3)]);
  barChart("density", spikes.map(n => ({label: n.name, values: [100 * mean(n.density)]})),
           [{name: "spikes", color: "#c83c14"}], "%", 2);
  heatmap("density-time", spikes.map(n => ({label: n.name, values: n.density})), p.timesteps);
  barChart("time", nodes.map(n => ({label: n.name + " (" + n.op + ")", values: [n.total_time_ms]})),
           [{name: "wall time", color: "#3c6ec8"}], "ms", 3);
  barChart("energy", layers.map(n => ({label: n.name + " (" + n.synapses + ")",
                                       values: [n.energy_pj / 1000, n.dense_energy_pj / 1000]})),
           [{name: "SNN", color: "#1a9a7a"}, {name: "dense ANN", color: "#999"}], "nJ", 3);
  const table = document.getElementById("nodes");
  row(table, ["node", "op", "output", "time (ms)", "density per timestep (%)", "AC", "MAC", "energy (nJ)"], true);
  for (const n of nodes)
    row(table, [n.name, n.op, "[" + n.output_shape.join(",") + "]",
                fmt(n.total_time_ms, 3),
                n.density ? n.density.map(d => fmt(100 * d, 1)).join(" ") : "",
                n.synapses ? n.ac : "", n.synapses ? n.mac : "", n.synapses ? fmt(n.energy_pj / 1000, 3) : ""]);
}
try {
  render();
  document.body.setAttribute("data-rendered", "ok");
} catch (e) {
  document.body.setAttribute("data-rendered", "error: " + e);
  throw e;
}
)JS" + R"(</script>
</body></html>
)";
  return page;
}

}  // namespace tspike::cli
