import Foundation

extension History {
    /// Draws the recorded quantities per epoch as an SVG file: one panel per quantity
    /// (`loss`, `accuracy`, ...), the training values as a solid line and the validation
    /// values (`val_...`) as a dashed one. The file opens in any browser.
    ///
    /// - Throws: ``KilnError`` if nothing was recorded or the file cannot be written.
    public func plot(to path: String, title: String = "Training history") throws {
        let names = history.keys.filter { !$0.hasPrefix("val_") && $0 != "learning_rate" }
            .sorted { ($0 == "loss" ? "" : $0) < ($1 == "loss" ? "" : $1) }
        guard !epochs.isEmpty, !names.isEmpty else {
            throw KilnError(.notReady, "the history is empty: plot it after fit has run at least one epoch")
        }
        let panelWidth = 380.0, panelHeight = 260.0
        var body = ""
        for (index, name) in names.enumerated() {
            let train = history[name] ?? [], validation = history["val_" + name] ?? []
            let xs = epochs.map { Double($0 + 1) }
            let panel = SVGPanel(left: 70 + Double(index) * (panelWidth + 90), top: 60, width: panelWidth, height: panelHeight,
                                 xs: xs, ys: (train + validation).map(Double.init))
            body += panel.axes(title: name, xLabel: "epoch", yLabel: name)
            body += panel.line(Array(zip(xs, train.map(Double.init))), color: SVGPanel.palette[0])
            body += panel.legend("training", color: SVGPanel.palette[0], row: 0)
            if !validation.isEmpty {
                body += panel.line(Array(zip(xs, validation.map(Double.init))), color: SVGPanel.palette[1], dashed: true)
                body += panel.legend("validation", color: SVGPanel.palette[1], row: 1, dashed: true)
            }
        }
        let width = 70 + Double(names.count) * (panelWidth + 90)
        let header = SVGPanel(left: 0, top: 0, width: width, height: 0, xs: [0], ys: [0])
            .text(title, x: width / 2, y: 24, anchor: "middle", size: 17, weight: "bold")
        try SVGPanel.write(SVGPanel.document(width: width, height: panelHeight + 120, header + body), to: path)
    }
}
