import Foundation
import KilnCompiler
import KilnGraph
import KilnKernels

/// A model's inference as plain C99 (`kiln export`): the program Kiln compiles for
/// `predict`, with the portable parts of the runtime it calls, the weights as `static const`
/// arrays and a small API, in `NAME.h` and `NAME.c` that need only `<math.h>`, `<stdint.h>`
/// and `<string.h>`. Every name the file defines starts with `NAME_`, so several exported
/// models link into one program.
struct CExport {
    let name: String
    let header: String
    let source: String
    /// The number of weight elements written into the source (or the weights file).
    let weightElements: Int
    /// The weights file's bytes when the weights go in a file of their own, else `nil`.
    let weights: Data?

    /// One model input or output as the C API lays it out: a run of floats per sample.
    struct Part {
        let name: String
        let shape: [Int]
        let dtype: DType
        var size: Int { shape.reduce(1, *) }
    }

    /// The export of `graph`'s `outputs` (in order), computed from `inputs` (in order), with
    /// the values of the variables it reads, under the C prefix `name`; with `weightsFile`,
    /// the weights go in ``weights`` (little-endian, each array at a multiple of 4 bytes) and
    /// every function takes them as its first argument; with `dynamicBatch`, the API also
    /// runs a whole batch through the program in one call, in a workspace the caller sizes
    /// with `NAME_BATCH_WORKSPACE_BYTES(n)`.
    ///
    /// - Throws: ``KilnError`` if the graph does not lower, a runtime function it needs has
    ///   no portable version, or a weight is not finite.
    init(graph: Graph, outputs: [(name: String, node: Node)], inputs: [Part], variables: [String: Tensor], modelName: String,
         modelType: String, name: String, weightsFile: Bool = false, dynamicBatch: Bool = false) throws {
        self.name = name
        let lowered = try Lowering.lower(graph, outputs: Dictionary(uniqueKeysWithValues: outputs.map { ($0.name, $0.node) }),
                                         switches: DebugSwitches(environment: { _ in nil }))
        let schedule = lowered.schedule
        guard let arena = lowered.function.memory?.arenaBytes.value(n: 1) else {
            throw KilnError(.runtime, "the exported program's memory size overflows")
        }
        let upper = name.uppercased()
        let outputParts = try outputs.map { output -> Part in
            guard let sizes = Self.sampleShape(output.node) else {
                throw KilnError(.shapeMismatch, "output \(output.name) has no static sample shape")
            }
            return Part(name: output.name, shape: sizes, dtype: output.node.dtype)
        }

        // The weights and constants, and the slots the entry point takes.
        var arrays: [String] = [], slotExpressions: [String] = [], elements = 0, blob = Data()
        for (index, slot) in schedule.slots.enumerated() {
            switch slot.kind {
            case .feed(let feed):
                guard let position = inputs.firstIndex(where: { $0.name == feed }) else {
                    throw KilnError(.invalidGraph, "the program reads feed \(String(reflecting: feed)), which is not a model input")
                }
                slotExpressions.append("(void *)in\(position)")
            case .variable(let variable):
                guard let tensor = variables[variable] else {
                    throw KilnError(.invalidGraph, "the inference program reads variable \(String(reflecting: variable)), which the "
                                    + "model does not have")
                }
                slotExpressions.append(try place(tensor, "\(name)_w\(index)", comment: "\(variable): \(tensor.dtype) \(tensor.shape)"))
            case .constant(let tensor):
                slotExpressions.append(try place(tensor, "\(name)_c\(index)", comment: "constant \(tensor.dtype) \(tensor.shape)"))
            }
        }
        /// A weight or constant as a `static const` array, or at its offset in the weights file.
        func place(_ tensor: Tensor, _ array: String, comment: String) throws -> String {
            elements += tensor.scalarCount
            guard weightsFile else {
                arrays.append(try Self.array(array, tensor, comment: comment).0)
                return "(void *)\(array)"
            }
            let offset = blob.count
            try Self.appendLittleEndian(tensor, to: &blob, comment: comment)
            arrays.append("/* \(comment): bytes \(offset)..<\(blob.count) of \(name).weights */")
            return "(void *)(blob + \(offset))"
        }
        weightElements = elements
        weights = weightsFile ? blob : nil

        // The runtime: the portable parts of the kernel files, then the generated program.
        var body = "#define KILN_PORTABLE 1\n"
        body += try Self.portableRuntime()
        body += Self.stripIncludes(lowered.unit.source)
        body = body.replacingOccurrences(of: "int kiln_run(", with: "static int kiln_run(")

        let inputSize = inputs.reduce(0) { $0 + $1.size }, outputSize = outputParts.reduce(0) { $0 + $1.size }
        var api = "\n/* ---- The model's API (\(name).h) ---- */\n\n"
        let parameter = weightsFile ? "const void *weights, " : "", argument = weightsFile ? "weights, " : ""
        api += "int \(name)_predict_with_workspace(\(parameter)const float *input, float *output, void *workspace) {\n"
        api += "    uint8_t *arena = (uint8_t *)workspace;\n"
        if weightsFile { api += "    const uint8_t *blob = (const uint8_t *)weights;\n" }
        api += "    int64_t fault[8] = {0};\n"
        api += "    int status;\n"
        api += "    if (!input || !output || !workspace\(weightsFile ? " || !weights" : "")) return \(upper)_ERROR_ARGUMENT;\n"
        var offset = 0, conversions = ""
        for (position, input) in inputs.enumerated() {
            if input.dtype == .int32 {
                api += "    int32_t in\(position)[\(input.size)];\n"
                conversions += "    for (int64_t i = 0; i < \(input.size); i++) in\(position)[i] = "
                    + "(int32_t)input[\(offset) + i];\n"
            } else {
                api += "    const float *in\(position) = input + \(offset);\n"
            }
            offset += input.size
        }
        api += conversions
        api += Self.run(slotExpressions, batch: "1")
        var outputOffset = 0
        for (output, part) in zip(outputs, outputParts) {
            api += "    memcpy(output + \(outputOffset), \(try Self.source(of: output.name, schedule, slotExpressions, batch: "1")), "
                + "\(part.size * 4));\n"
            outputOffset += part.size
        }
        api += "    return \(upper)_OK;\n}\n\n"
        api += "int \(name)_predict(\(parameter)const float *input, float *output) {\n"
        api += "    union { double alignment; uint8_t bytes[\(upper)_WORKSPACE_BYTES]; } workspace;\n"
        api += "    return \(name)_predict_with_workspace(\(argument)input, output, workspace.bytes);\n}\n\n"
        api += "int \(name)_predict_batch(\(parameter)int64_t n, const float *input, float *output) {\n"
        api += "    union { double alignment; uint8_t bytes[\(upper)_WORKSPACE_BYTES]; } workspace;\n"
        api += "    if (n < 0 || (n > 0 && (!input || !output))) return \(upper)_ERROR_ARGUMENT;\n"
        api += "    for (int64_t i = 0; i < n; i++) {\n"
        api += "        int status = \(name)_predict_with_workspace(\(argument)input + i * \(upper)_INPUT_SIZE, "
            + "output + i * \(upper)_OUTPUT_SIZE, workspace.bytes);\n"
        api += "        if (status != \(upper)_OK) return status;\n    }\n    return \(upper)_OK;\n}\n"

        var batchDefine = ""
        if dynamicBatch {
            let arenaBytes = lowered.function.memory?.arenaBytes ?? BatchPolynomial()
            let arenaText = "(" + arenaBytes.cExpression(batch: "(n)") + ")"
            batchDefine = "#define \(upper)_BATCH_WORKSPACE_BYTES(n) (64 + ((\(arenaText) + 63) / 64) * 64 + \(inputSize * 4) * (n))\n"
            api += "\n" + (try Self.batchFunction(name: name, upper: upper, parameter: parameter, weightsFile: weightsFile,
                                                   inputs: inputs, outputs: outputs, outputParts: outputParts,
                                                   schedule: schedule, slotExpressions: slotExpressions,
                                                   arena: arenaBytes.cExpression(batch: "n")))
        }

        // The weights go in after pruning, which they would only slow down.
        let weightsText = arrays.joined(separator: "\n") + (arrays.isEmpty ? "" : "\n\n")
        let program = Self.pruneUnusedStatics(body + api).replacingOccurrences(
            of: "\n/* ---- The model's API", with: "\n" + weightsText + "/* ---- The model's API")
        let lines = program.split(separator: "\n", omittingEmptySubsequences: false).count
        var source = "/* \(name).c: the \(modelType) model \(String(reflecting: modelName)), exported by Kiln as C99.\n"
        source += "   \(name).h describes the API. Needs only <math.h>, <stdint.h> and <string.h>; allocates nothing;\n"
        source += "   keeps no mutable global state, so calls from several threads are safe. \(lines) lines after this\n"
        source += "   comment: Kiln's runtime kernels (portable parts), the compiled program, \(elements) weights. */\n"
        source += "#include \"\(name).h\"\n\n#include <math.h>\n#include <stdint.h>\n#include <string.h>\n\n"
        source += Self.rename(program, to: name)
        self.source = source
        self.header = Self.header(name: name, modelName: modelName, modelType: modelType, inputs: inputs, outputs: outputParts,
                                  inputSize: inputSize, outputSize: outputSize, workspace: arena + 64,
                                  weightsBytes: weightsFile ? blob.count : nil, batchDefine: batchDefine)
    }

    /// `NAME_predict_batch_with_workspace`: the inputs of `n` samples laid out one array per
    /// input after the arena (unless one float input can be read where it is), one run of the
    /// program for all of them, and the outputs laid out sample by sample.
    private static func batchFunction(name: String, upper: String, parameter: String, weightsFile: Bool, inputs: [Part],
                                      outputs: [(name: String, node: Node)], outputParts: [Part], schedule: Schedule,
                                      slotExpressions: [String], arena: String) throws -> String {
        var f = "int \(name)_predict_batch_with_workspace(\(parameter)int64_t n, const float *input, float *output, void *workspace) {\n"
        f += "    uint8_t *arena = (uint8_t *)workspace;\n"
        if weightsFile { f += "    const uint8_t *blob = (const uint8_t *)weights;\n" }
        f += "    int64_t fault[8] = {0};\n    int status;\n"
        let direct = inputs.count == 1 && inputs[0].dtype == .float32
        if !direct { f += "    uint8_t *scratch;\n" }
        var declarations = "", copies = "", offset = 0
        for (position, input) in inputs.enumerated() {
            let type = input.dtype == .int32 ? "int32_t" : "float"
            if direct {
                declarations += "    const float *in0 = input;\n"
            } else {
                declarations += "    \(type) *in\(position);\n"
                copies += "    in\(position) = (\(type) *)(scratch + \(offset * 4) * n);\n"
                copies += "    for (int64_t i = 0; i < n; i++) {\n"
                copies += "        for (int64_t j = 0; j < \(input.size); j++) in\(position)[i * \(input.size) + j] = "
                    + "(\(type))input[i * \(upper)_INPUT_SIZE + \(offset) + j];\n    }\n"
            }
            offset += input.size
        }
        f += declarations
        f += "    if (n < 0 || (n > 0 && (!input || !output || !workspace\(weightsFile ? " || !weights" : "")))) "
            + "return \(upper)_ERROR_ARGUMENT;\n"
        f += "    if (n == 0) return \(upper)_OK;\n"
        if !direct { f += "    scratch = arena + ((\(arena) + 63) / 64) * 64;\n" + copies }
        f += run(slotExpressions, batch: "n")
        var outputOffset = 0
        for (output, part) in zip(outputs, outputParts) {
            let source = try Self.source(of: output.name, schedule, slotExpressions, batch: "n")
            if outputs.count == 1 {
                f += "    memcpy(output, \(source), (size_t)n * \(part.size * 4));\n"
            } else {
                f += "    for (int64_t i = 0; i < n; i++) memcpy(output + i * \(upper)_OUTPUT_SIZE + \(outputOffset), "
                    + "\(source) + i * \(part.size), \(part.size * 4));\n"
            }
            outputOffset += part.size
        }
        return f + "    return \(upper)_OK;\n}\n"
    }

    /// The call of the program on `batch` samples with these slots, and the return of its fault.
    private static func run(_ slotExpressions: [String], batch: String) -> String {
        "    {\n        void *const slots[] = {\(slotExpressions.isEmpty ? "0" : slotExpressions.joined(separator: ", "))};\n"
            + "        status = kiln_run(arena, \(batch), slots, fault);\n    }\n    if (status != 0) return status;\n"
    }

    /// Where output `name` is after a run on `batch` samples, as a `const float *` expression.
    private static func source(of name: String, _ schedule: Schedule, _ slotExpressions: [String], batch: String) throws -> String {
        guard let result = schedule.outputs.first(where: { $0.name == name }) else {
            throw KilnError(.invalidGraph, "the program has no output \(name)")
        }
        switch result.place {
        case .arena(let at):
            let offset = batch == "1" ? at.value(n: 1).map(String.init) : at.cExpression(batch: batch)
            guard let offset else { throw KilnError(.runtime, "an output offset overflows") }
            return "(const float *)(arena + \(offset))"
        case .slot(let slot):
            return "(const float *)\(slotExpressions[slot].replacingOccurrences(of: "(void *)", with: ""))"
        }
    }

    /// The per-sample shape of a node whose first dimension is the batch.
    private static func sampleShape(_ node: Node) -> [Int]? {
        let dims = node.shape.dims.dropFirst()
        let sizes = dims.compactMap(\.staticSize)
        return sizes.count == dims.count ? sizes : nil
    }

    /// `NAME.h`: the sizes, the error codes and the three functions, documented.
    private static func header(name: String, modelName: String, modelType: String, inputs: [Part], outputs: [Part],
                               inputSize: Int, outputSize: Int, workspace: Int, weightsBytes: Int?,
                               batchDefine: String) -> String {
        let upper = name.uppercased()
        let parameter = weightsBytes == nil ? "" : "const void *weights, "
        let weightsNote = weightsBytes.map { bytes in
            """

             *
             * The weights are in \(name).weights, \(bytes) bytes (\(upper)_WEIGHTS_BYTES) of little-endian floats, each
             * array at a multiple of 4 bytes: read the file into memory aligned to 4 bytes or more (or link
             * it in) and pass its address as each function's first argument. The file suits a
             * little-endian machine as it is.
            """
        } ?? ""
        let weightsDefine = weightsBytes.map { "#define \(upper)_WEIGHTS_BYTES \($0)\n" } ?? ""
        func describe(_ parts: [Part], _ kind: String) -> String {
            var offset = 0
            return parts.map { part in
                defer { offset += part.size }
                let shape = "(" + part.shape.map(String.init).joined(separator: ", ") + (part.shape.count == 1 ? ",)" : ")")
                let dtype = part.dtype == .int32 ? "integer ids given as floats" : "floats"
                return " *   \(kind) \(String(reflecting: part.name)): floats \(offset)..<\(offset + part.size) of each sample, "
                    + "shape \(shape), \(dtype)"
            }.joined(separator: "\n")
        }
        /// Each part's shape, size, offset in a sample and element type, as constants.
        func constants(_ parts: [Part], _ kind: String) -> String {
            var offset = 0
            let prefix = "\(upper)_\(kind.uppercased())"
            return "#define \(prefix)_COUNT \(parts.count)\n" + parts.enumerated().map { index, part in
                defer { offset += part.size }
                return """
                    #define \(prefix)_\(index)_RANK \(part.shape.count)   /* \(kind) \(String(reflecting: part.name)) */
                    #define \(prefix)_\(index)_SHAPE {\(part.shape.map(String.init).joined(separator: ", "))}
                    #define \(prefix)_\(index)_SIZE \(part.size)
                    #define \(prefix)_\(index)_OFFSET \(offset)
                    #define \(prefix)_\(index)_DTYPE \(upper)_DTYPE_\(part.dtype == .int32 ? "INT32" : "FLOAT32")

                    """
            }.joined()
        }
        return """
            /* \(name).h: the \(modelType) model \(String(reflecting: modelName)), exported by Kiln as C99.
             *
             * Each sample is a run of floats, row-major, inputs one after the other:
            \(describe(inputs, "input"))
             * and so is each prediction, outputs one after the other:
            \(describe(outputs, "output"))
             *
             * The functions keep no state between calls and may run on several threads at once.
             * \(name)_predict uses \(upper)_WORKSPACE_BYTES of stack; \(name)_predict_with_workspace takes
             * that memory from the caller instead (any alignment of 8 bytes or more), for small stacks.\(weightsNote)
             */
            #ifndef \(upper)_H
            #define \(upper)_H

            #include <stdint.h>

            #define \(upper)_INPUT_SIZE \(inputSize)   /* floats per sample */
            #define \(upper)_OUTPUT_SIZE \(outputSize)   /* floats per prediction */

            /* Each input and output: its shape (one sample), floats, place in a sample, and whether
               it holds floats or integer ids (given as floats). */
            #define \(upper)_DTYPE_FLOAT32 0
            #define \(upper)_DTYPE_INT32 1
            \(constants(inputs, "input"))\(constants(outputs, "output"))
            #define \(upper)_WORKSPACE_BYTES \(workspace)
            \(weightsDefine)
            #define \(upper)_OK 0
            #define \(upper)_ERROR_INDEX 1      /* an id outside an embedding's table */
            #define \(upper)_ERROR_EMPTY 2      /* an argmax over no elements */
            #define \(upper)_ERROR_ARGUMENT 3   /* a null pointer or a negative count */

            /* output[\(upper)_OUTPUT_SIZE] = the model's prediction for input[\(upper)_INPUT_SIZE]. */
            int \(name)_predict(\(parameter)const float *input, float *output);

            /* The same with \(upper)_WORKSPACE_BYTES of scratch memory given by the caller. */
            int \(name)_predict_with_workspace(\(parameter)const float *input, float *output, void *workspace);

            /* n predictions: output[n * \(upper)_OUTPUT_SIZE] for input[n * \(upper)_INPUT_SIZE], one at a time. */
            int \(name)_predict_batch(\(parameter)int64_t n, const float *input, float *output);
            \(batchDefine.isEmpty ? "" : """

            /* The same n predictions in one run of the program (faster for large n), in a workspace of
               \(upper)_BATCH_WORKSPACE_BYTES(n) bytes given by the caller (aligned to 8 bytes or more). */
            \(batchDefine)int \(name)_predict_batch_with_workspace(\(parameter)int64_t n, const float *input, float *output, void *workspace);

            """)
            #endif

            """
    }

    /// A `static const` array of `tensor`'s elements, and their count.
    private static func array(_ name: String, _ tensor: Tensor, comment: String) throws -> (String, Int) {
        let count = tensor.scalarCount
        let values: [String]
        let type: String
        switch tensor.dtype {
        case .float32:
            type = "float"
            values = try tensor.scalars.map { value in
                guard value.isFinite else { throw KilnError(.invalidData, "\(comment) holds \(value), which C cannot write") }
                return value == 0 ? "0" : "\(value)f"
            }
        case .int32:
            type = "int32_t"
            values = tensor.int32Scalars.map { $0 == Int32.min ? "(-2147483647 - 1)" : "\($0)" }
        case .bool:
            type = "uint8_t"
            values = tensor.int32Scalars.map { "\($0)" }
        }
        var lines: [String] = []
        var line = "   "
        for value in values {
            if line.count + value.count > 110 {
                lines.append(line)
                line = "   "
            }
            line += " \(value),"
        }
        lines.append(line)
        return ("/* \(comment) */\nstatic const \(type) \(name)[\(Swift.max(count, 1))] = {\n\(lines.joined(separator: "\n"))\n};", count)
    }

    /// Appends `tensor`'s elements as 4-byte little-endian values (bool as 0 or 1 in a byte),
    /// padded to a multiple of 4 bytes.
    private static func appendLittleEndian(_ tensor: Tensor, to data: inout Data, comment: String) throws {
        switch tensor.dtype {
        case .float32:
            for value in tensor.scalars {
                guard value.isFinite else { throw KilnError(.invalidData, "\(comment) holds \(value), which the model cannot export") }
                withUnsafeBytes(of: value.bitPattern.littleEndian) { data.append(contentsOf: $0) }
            }
        case .int32:
            for value in tensor.int32Scalars { withUnsafeBytes(of: value.littleEndian) { data.append(contentsOf: $0) } }
        case .bool:
            data.append(contentsOf: tensor.int32Scalars.map { UInt8($0 != 0 ? 1 : 0) })
        }
        while data.count % 4 != 0 { data.append(0) }
    }

    /// The portable runtime: the elementary functions, the prelude's declarations and
    /// helpers, and the kernel files, without their includes and pragmas.
    private static func portableRuntime() throws -> String {
        func text(_ file: String) throws -> String {
            guard let pointer = kiln_export_source(file) else { throw KilnError(.runtime, "no portable source \(file)") }
            return String(cString: pointer)
        }
        var prelude = try text("kiln_prelude.h")
        // The TinyCC declarations go; the branch for other compilers stays, without kiln_math.h.
        if let start = prelude.range(of: "#if defined(__TINYC__)"), let middle = prelude.range(of: "#else\n", range: start.upperBound..<prelude.endIndex),
           let end = prelude.range(of: "#endif\n", range: middle.upperBound..<prelude.endIndex) {
            prelude.replaceSubrange(start.lowerBound..<end.upperBound, with: prelude[middle.upperBound..<end.lowerBound])
        }
        let kernels = ["kiln_vectorize.h", "kiln_copy.h", "kiln_windows.h", "layout.c", "indexing.c", "vector.c", "reduce.c", "windows.c",
                       "portable/serial.c"]
        let files = try ["kiln_math.h"].map(text) + [prelude] + kernels.map(text)
        return files.map(stripIncludes).joined(separator: "\n")
    }

    /// `text` without `#include "..."` lines, `#pragma STDC` lines, and the system headers
    /// the exported file includes once at its top.
    private static func stripIncludes(_ text: String) -> String {
        text.split(separator: "\n", omittingEmptySubsequences: false).filter { line in
            !(line.hasPrefix("#include \"") || line.hasPrefix("#pragma STDC") || line == "#include <math.h>"
              || line == "#include <stdint.h>" || line == "#include <string.h>" || line == "#include <stddef.h>")
        }.joined(separator: "\n") + "\n"
    }

    /// `text` with every `static` function nothing else names removed (the prelude's helpers
    /// and the kernels a program does not call), so strict compilers do not warn about them.
    private static func pruneUnusedStatics(_ text: String) -> String {
        var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        var changed = true
        while changed {
            changed = false
            // How often each identifier appears outside comments; a definition removed in this
            // pass leaves its names over-counted, so what only it used goes in the next pass.
            let uses = identifierCounts(lines.joined(separator: "\n"))
            var index = 0
            while index < lines.count {
                guard lines[index].hasPrefix("static "), let open = lines[index].firstIndex(of: "("),
                      let name = lines[index][..<open].split(separator: " ").last.map(String.init),
                      !name.isEmpty, name.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
                    index += 1
                    continue
                }
                // The definition's end: where its braces balance again.
                var depth = 0, end = index, opened = false
                for line in index..<lines.count {
                    for character in lines[line] {
                        if character == "{" { depth += 1; opened = true }
                        if character == "}" { depth -= 1 }
                    }
                    end = line
                    if opened && depth == 0 { break }
                    if !opened && lines[line].hasSuffix(";") { break }
                }
                // Unused when every appearance of the name is in its own definition.
                if uses[name, default: 0] == identifierCounts(lines[index...end].joined(separator: "\n"))[name, default: 0] {
                    lines.removeSubrange(index...end)
                    changed = true
                } else {
                    index = end + 1
                }
            }
        }
        return lines.joined(separator: "\n")
    }

    /// How many times each identifier appears in `text` outside its comments.
    private static func identifierCounts(_ text: String) -> [String: Int] {
        let words = withoutComments(text).split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
        return words.reduce(into: [:]) { counts, word in counts[String(word), default: 0] += 1 }
    }

    /// `text` without its `/* */` and `//` comments (string literals in the runtime hold neither).
    private static func withoutComments(_ text: String) -> String {
        var out = "", characters = Array(text), index = 0
        while index < characters.count {
            if characters[index] == "/", index + 1 < characters.count, characters[index + 1] == "*" {
                index += 2
                while index + 1 < characters.count, !(characters[index] == "*" && characters[index + 1] == "/") { index += 1 }
                index += 2
            } else if characters[index] == "/", index + 1 < characters.count, characters[index + 1] == "/" {
                while index < characters.count, characters[index] != "\n" { index += 1 }
            } else {
                out.append(characters[index])
                index += 1
            }
        }
        return out
    }

    /// `text` with Kiln's prefixes replaced by the model's: `kiln_` by `NAME_`, `KILN_` by `NAME_` in capitals.
    private static func rename(_ text: String, to name: String) -> String {
        text.replacingOccurrences(of: "kiln_", with: "\(name)_").replacingOccurrences(of: "KILN_", with: "\(name.uppercased())_")
    }
}
