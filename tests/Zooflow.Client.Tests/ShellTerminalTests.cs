using System.Diagnostics;
using System.Text;
using Xunit;
using Zooflow.Client.Tests.Infrastructure;

namespace Zooflow.Client.Tests;

/// <summary>
/// The interactive shell driven through a pseudo-terminal (util-linux <c>script</c> gives it a pty, so it uses its line
/// editor): the zkCli-style prompt counts commands, typed commands run, and the up arrow recalls history.
/// </summary>
public sealed class ShellTerminalTests(ServerPool pool)
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Interactive_ThroughPty_PromptEditingAndHistoryRecall()
    {
        if (!File.Exists(TestServer.ZooflowCli))
        {
            Assert.Skip($"Zooflow CLI not built at {TestServer.ZooflowCli}");
        }

        if (!File.Exists("/usr/bin/script"))
        {
            Assert.Skip("util-linux script(1) not installed");
        }

        var (_, connect, _) = await pool.NewRootAsync(ServerKind.ZooKeeper);
        var info = new ProcessStartInfo("/usr/bin/script")
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var a in new[] { "-qfec", $"dotnet {TestServer.ZooflowCli} shell -server {connect}", "/dev/null" })
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["TERM"] = "xterm";
        using var process = Process.Start(info)!;
        var output = new StringBuilder();
        var reader = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = await process.StandardOutput.ReadAsync(buffer, Ct)) > 0)
            {
                lock (output)
                {
                    output.Append(buffer, 0, n);
                }
            }
        }, Ct);
        try
        {
            async Task WaitForAsync(string text)
            {
                await TestWait.UntilAsync(() =>
                {
                    lock (output)
                    {
                        return Task.FromResult(output.ToString().Contains(text, StringComparison.Ordinal));
                    }
                }, TimeSpan.FromSeconds(30), $"'{text}' on the terminal");
            }

            async Task TypeAsync(string keys)
            {
                await process.StandardInput.WriteAsync(keys);
                await process.StandardInput.FlushAsync(Ct);
            }

            await WaitForAsync("(CONNECTED) 0] ");
            await TypeAsync("create /h v\r");
            await WaitForAsync("(CONNECTED) 1] ");
            await TypeAsync("get /h\r");
            await WaitForAsync("(CONNECTED) 2] ");
            await TypeAsync("\u001b[A\r"); // up arrow: recall "get /h"
            await WaitForAsync("(CONNECTED) 3] ");
            await TypeAsync("xls /h\u0001\u001b[3~\r"); // "xls /h", Ctrl+A (start of line), Delete (the x) → "ls /h"
            await WaitForAsync("(CONNECTED) 4] ");
            await TypeAsync("quit\r");
            await process.WaitForExitAsync(Ct).WaitAsync(TimeSpan.FromSeconds(30), Ct);
        }
        finally
        {
            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
            }
        }

        await reader.WaitAsync(TimeSpan.FromSeconds(10), Ct);
        var lines = output.ToString().Split('\n').Select(l => l.TrimEnd('\r')).ToList();
        Assert.Equal(2, lines.Count(l => l == "v")); // typed get and recalled get
        Assert.Contains(lines, l => l.EndsWith("Created /h", StringComparison.Ordinal) || l == "Created /h");
        Assert.Contains("[]", lines); // the edited line ran as "ls /h"
        Assert.DoesNotContain("Command not found", output.ToString(), StringComparison.Ordinal);
    }
}
