using System.Text;

namespace Zooflow.Consensus.Tests.Harness;

/// <summary>One command of a data-driven script: <c>name pos1 pos2 key=value ...</c>.</summary>
internal sealed record ScriptCommand(string Name, IReadOnlyList<string> Positional, IReadOnlyDictionary<string, string> Named, int Line)
{
    public string Arg(string key, string fallback) => Named.TryGetValue(key, out string? v) ? v : fallback;

    public int IntArg(string key, int fallback) => Named.TryGetValue(key, out string? v) ? int.Parse(v, System.Globalization.CultureInfo.InvariantCulture) : fallback;

    public IReadOnlyList<long> Ids(string key) =>
        Named.TryGetValue(key, out string? v) && v.Length > 0
            ? [.. v.Split(',').Select(s => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture))]
            : [];

    /// <summary>Positional arguments as server ids.</summary>
    public IReadOnlyList<long> PositionalIds => [.. Positional.Select(s => long.Parse(s, System.Globalization.CultureInfo.InvariantCulture))];

    public override string ToString() =>
        string.Join(' ', new[] { Name }.Concat(Positional).Concat(Named.Select(kv => $"{kv.Key}={kv.Value}")));
}

/// <summary>
/// Runs a script in etcd raft's data-driven format (STYLE.md §3: <c>interaction_test.go</c> + <c>testdata/*.txt</c>):
/// <code>
/// # comment
/// command arg key=value
/// ----
/// expected output (no blank lines)
/// </code>
/// Each command's actual output is compared with the expected block. With <c>ZOOFLOW_REWRITE=1</c> the file is rewritten
/// with the actual output instead, so a change of behaviour shows up as a reviewable diff of the traces.
/// </summary>
internal static class DataDriven
{
    public static bool RewriteRequested => Environment.GetEnvironmentVariable("ZOOFLOW_REWRITE") == "1";

    private sealed record Block(List<string> Preamble, string CommandLine, int Line, List<string> Expected);

    public static void Run(string path, Func<ScriptCommand, string> handler, string? rewritePath = null)
    {
        List<Block> blocks = Parse(path);
        var failures = new StringBuilder();
        var rewritten = new StringBuilder();
        foreach (Block block in blocks)
        {
            ScriptCommand command = ParseCommand(block.CommandLine, block.Line);
            string actual;
            try
            {
                actual = handler(command).TrimEnd();
            }
            catch (Exception ex) when (ex is not Xunit.Sdk.XunitException)
            {
                actual = $"error: {ex.GetType().Name}: {ex.Message}";
            }

            if (actual.Length == 0)
            {
                actual = "ok";
            }

            if (actual.Split('\n').Any(l => l.Trim().Length == 0))
            {
                throw new InvalidOperationException($"{path}:{block.Line}: output of '{block.CommandLine}' has a blank line");
            }

            string expected = string.Join('\n', block.Expected);
            if (expected != actual && failures.Length == 0)
            {
                failures.AppendLine($"{path}:{block.Line}: '{block.CommandLine}' output differs (set ZOOFLOW_REWRITE=1 to accept)");
                failures.AppendLine("--- expected");
                failures.AppendLine(expected);
                failures.AppendLine("--- actual");
                failures.AppendLine(actual);
            }

            foreach (string line in block.Preamble)
            {
                rewritten.Append(line).Append('\n');
            }

            rewritten.Append(block.CommandLine).Append('\n').Append("----\n").Append(actual).Append('\n');
        }

        if (RewriteRequested && rewritePath is not null)
        {
            File.WriteAllText(rewritePath, rewritten.ToString());
            return;
        }

        Assert.True(failures.Length == 0, failures.ToString());
    }

    private static List<Block> Parse(string path)
    {
        string[] lines = File.ReadAllText(path).Replace("\r\n", "\n").Split('\n');
        var blocks = new List<Block>();
        var preamble = new List<string>();
        int i = 0;
        while (i < lines.Length)
        {
            string line = lines[i];
            if (line.Trim().Length == 0 || line.StartsWith('#'))
            {
                if (i < lines.Length - 1 || line.Length > 0)
                {
                    preamble.Add(line);
                }

                i++;
                continue;
            }

            int commandLine = i + 1;
            if (i + 1 >= lines.Length || lines[i + 1] != "----")
            {
                throw new InvalidOperationException($"{path}:{commandLine}: expected '----' after command '{line}'");
            }

            var expected = new List<string>();
            i += 2;
            while (i < lines.Length && lines[i].Trim().Length > 0)
            {
                expected.Add(lines[i]);
                i++;
            }

            blocks.Add(new Block(preamble, line, commandLine, expected));
            preamble = [];
        }

        return blocks;
    }

    private static ScriptCommand ParseCommand(string line, int lineNumber)
    {
        string[] parts = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        var positional = new List<string>();
        var named = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (string part in parts.Skip(1))
        {
            int eq = part.IndexOf('=', StringComparison.Ordinal);
            if (eq > 0)
            {
                named[part[..eq]] = part[(eq + 1)..];
            }
            else
            {
                positional.Add(part);
            }
        }

        return new ScriptCommand(parts[0], positional, named, lineNumber);
    }
}
