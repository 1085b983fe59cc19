/**
 * The charts of the load report's HTML file (tools/load_html.ts). A classic script (no imports),
 * inlined into the file after uPlot: it reads the report's data from the JSON block #report-data
 * and draws one chart per entry. Every word in it comes translated from that data; every text is
 * put into the page as text.
 */

/** The little of uPlot this script uses (the library itself is inlined before it, as a global). */
type UPlotCtor = new (opts: object, data: number[][], el: HTMLElement) => object;

interface ReportSeries {
  label: string;
  colour: string;
  values: number[];
  /** Right-hand axis (a second scale). */
  right?: boolean;
  dash?: boolean;
}

interface ReportChart {
  title: string;
  /** Axis labels: left, and right when a series uses it. */
  left: string;
  right?: string;
  series: ReportSeries[];
}

interface ReportData {
  /** Seconds from the start of the measured window. */
  t: number[];
  xLabel: string;
  charts: ReportChart[];
}

function drawReport(): void {
  const block = document.getElementById("report-data");
  const box = document.getElementById("charts");
  if (!block || !box) return;
  const data = JSON.parse(block.textContent ?? "{}") as ReportData;
  const UPlot = (window as unknown as { uPlot: UPlotCtor }).uPlot;
  for (const c of data.charts) {
    const fig = document.createElement("figure");
    const cap = document.createElement("figcaption");
    cap.textContent = c.title;
    const plot = document.createElement("div");
    fig.append(cap, plot);
    box.append(fig);
    const hasRight = c.series.some((s) => s.right);
    const axes: object[] = [{ label: data.xLabel }, { label: c.left, size: 60 }];
    if (hasRight) axes.push({ scale: "r", side: 1, label: c.right ?? "", size: 60, grid: { show: false } });
    new UPlot(
      {
        width: 560,
        height: 240,
        scales: { x: { time: false } },
        legend: { live: false },
        axes,
        series: [
          { label: data.xLabel },
          ...c.series.map((s) => ({
            label: s.label,
            stroke: s.colour,
            width: 1.5,
            dash: s.dash ? [5, 4] : undefined,
            scale: s.right ? "r" : "y",
            points: { show: data.t.length < 40 },
          })),
        ],
      },
      [data.t, ...c.series.map((s) => s.values)],
      plot,
    );
  }
}

drawReport();
