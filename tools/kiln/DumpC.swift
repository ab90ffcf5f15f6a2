import ArgumentParser
import Kiln

/// `kiln dump-c MODEL.kiln|SAMPLE [--step]`: the generated C.
struct DumpC: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "dump-c", abstract: "Print the C translation unit a model's program or a sample graph compiles into.")

    @OptionGroup var subject: SubjectArgument

    func run() throws {
        let loaded = try subject.load()
        print(try Lowering.lower(loaded.graph, outputs: loaded.outputs).unit.source, terminator: "")
    }
}
