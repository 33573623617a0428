using System.CommandLine;

namespace Zooflow.Cli.Commands;

/// <summary><c>zooflow embedded</c>: the README's run command — a local server plus a sample agent.</summary>
internal static class EmbeddedCommand
{
    public static Command Create()
    {
        var command = new Command("embedded", "Run a standalone server on 127.0.0.1:2181 (data under ./data) and a sample agent beside it.");
        command.SetAction(async (parse, cancellation) =>
        {
            await Console.Error.WriteLineAsync("zooflow embedded: not built yet");
            return 1;
        });
        return command;
    }
}
