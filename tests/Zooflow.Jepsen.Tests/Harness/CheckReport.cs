namespace Zooflow.Jepsen.Tests.Harness;

/// <summary>
/// What one checker found: the violations (each a self-contained explanation naming the ops involved), the checks it
/// could not decide, and a one-line summary of what it covered.
/// </summary>
public sealed class CheckReport(string name, bool informational = false)
{
    /// <summary>The checker's name, e.g. "linearizability of writes".</summary>
    public string Name { get; } = name;

    /// <summary>Reported but not asserted: a property the server under test does not promise (e.g. linearizable
    /// sync+read on ZooKeeper), measured to show how far it holds.</summary>
    public bool Informational { get; } = informational;

    public List<string> Violations { get; } = [];

    /// <summary>Checks that ran out of budget ("unknown — too large"): not a violation, but not a pass either.</summary>
    public List<string> Unknowns { get; } = [];

    /// <summary>What was covered, e.g. "31 registers, 4,210 ops".</summary>
    public string Summary { get; set; } = "";

    public bool Passed => Violations.Count == 0 && Unknowns.Count == 0;

    /// <summary>Adds a violation, keeping at most 20 (the rest are counted).</summary>
    public void Violation(string text)
    {
        if (Violations.Count < 20)
        {
            Violations.Add(text);
        }
        else if (Violations.Count == 20)
        {
            Violations.Add("... more violations not shown");
        }
    }

    public override string ToString() =>
        $"{Name}{(Informational ? " (informational)" : "")}: {(Passed ? "ok" : Violations.Count > 0 ? $"{Violations.Count} violation(s)" : $"{Unknowns.Count} unknown")} — {Summary}";
}
