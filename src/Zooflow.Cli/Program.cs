using System.CommandLine;
using Zooflow.Cli.Commands;

namespace Zooflow.Cli;

/// <summary>The one executable. Each subcommand lives in its own file under <c>Commands/</c>; this only wires them.</summary>
public static class Program
{
    /// <summary>Parses the command line and runs the chosen subcommand; the exit code is the subcommand's.</summary>
    /// <remarks>System.CommandLine's own SIGINT/SIGTERM handling is off (<c>ProcessTerminationTimeout = null</c>): the
    /// server and agent commands handle the signals themselves, and an agent's drain may take longer than its default
    /// two-second grace.</remarks>
    public static Task<int> Main(string[] args) =>
        BuildRoot().Parse(FlumeArgs.Normalize(args)).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });

    /// <summary>The command tree; <see cref="EmbeddedCommand"/> also runs subcommands through it.</summary>
    internal static RootCommand BuildRoot()
    {
        var root = new RootCommand("Zooflow: a ZooKeeper-compatible coordination service and a Flume-compatible pipeline agent.");
        root.Subcommands.Add(ServerCommand.Create());
        root.Subcommands.Add(AgentCommand.Create());
        root.Subcommands.Add(EmbeddedCommand.Create());
        root.Subcommands.Add(QuickstartCommand.Create());
        root.Subcommands.Add(ConfigCommand.Create());
        root.Subcommands.Add(FleetCommand.Create());
        root.Subcommands.Add(LimitsCommand.Create());
        root.Subcommands.Add(ShellCommand.Create());
        root.Subcommands.Add(BenchCommand.Create());
        root.Subcommands.Add(LogDumpCommand.Create());
        root.Subcommands.Add(SnapshotDumpCommand.Create());
        root.Subcommands.Add(PurgeCommand.Create());
        root.Subcommands.Add(ImportZookeeperCommand.Create());
        return root;
    }
}
