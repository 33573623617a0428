using System.CommandLine;

namespace Zooflow.Cli.Commands;

/// <summary><c>zooflow server [zoo.cfg]</c>: runs a standalone coordination server.</summary>
internal static class ServerCommand
{
    public static Command Create()
    {
        var command = new Command("server", "Run the coordination server (ZooKeeper wire protocol). Without a zoo.cfg it runs the embedded default on 127.0.0.1:2181 with data under ./data.");
        var config = new Argument<FileInfo?>("zoo.cfg") { Arity = ArgumentArity.ZeroOrOne, Description = "ZooKeeper-format configuration file." };
        command.Arguments.Add(config);
        command.SetAction(async (parse, cancellation) =>
        {
            await Console.Error.WriteLineAsync("zooflow server: not built yet");
            return 1;
        });
        return command;
    }
}
