using System.CommandLine;

namespace Zooflow.Cli.Commands;

/// <summary><c>zooflow agent -n NAME -f FILE</c>: runs a Flume-compatible pipeline agent.</summary>
internal static class AgentCommand
{
    public static Command Create()
    {
        var command = new Command("agent", "Run a pipeline agent from an Apache Flume properties configuration.");
        command.SetAction(async (parse, cancellation) =>
        {
            await Console.Error.WriteLineAsync("zooflow agent: not built yet");
            return 1;
        });
        return command;
    }
}

/// <summary>Rewrites Flume's command-line habits (<c>-Dkey=value</c>) into a form the parser accepts.</summary>
internal static class FlumeArgs
{
    public static string[] Normalize(string[] args) => args;
}
