import CIMSimulator
import Foundation
import Reports
import Yams

/// Where runs and sweeps end: the run folder's plots and `report.html` (module `Reports`), rebuilt from the files
/// the run has written so far.
extension Trainer {
    /// Redraws loss.svg and accuracy.svg and rewrites report.html from the run folder (rank 0; after every epoch
    /// and at the end of the run).
    func writeReport() throws {
        guard let folder else { return }
        let record = RunRecord(folder: folder.url, fallbackConfig: try? YAMLEncoder().encode(config))
        try folder.write("loss.svg", Data(RunPlots.loss(record, stepsPerEpoch: stepsPerEpoch).render().utf8))
        try folder.write("accuracy.svg", Data(RunPlots.accuracy(record).render().utf8))
        try folder.write("report.html", Data(RunReport.html(record, stepsPerEpoch: stepsPerEpoch).utf8))
    }
}
