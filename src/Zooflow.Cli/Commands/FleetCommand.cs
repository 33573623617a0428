using System.CommandLine;
using System.Runtime.InteropServices;
using System.Threading.Channels;
using Zooflow.Agent;
using Zooflow.Agent.Registry;
using Zooflow.Client;
using Zooflow.Jute;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow fleet [--group G] [--json] [--watch]</c>: the agents registered in the service with their health
/// (ok / degraded / failing / stopped / gone), throughput and channel fill. <c>--watch</c> redraws on every registry
/// change (child and data watches) and at least every two seconds; an agent that disappears stays listed as gone.
/// <c>--forget ID</c> removes a gone agent's record.
/// </summary>
internal static class FleetCommand
{
    private static readonly TimeSpan RedrawSpacingMin = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan RedrawPeriod = TimeSpan.FromSeconds(2);

    public static Command Create()
    {
        var service = ServiceCliOptions.CreateForTools();
        var group = new Option<string?>("--group", "-g") { Description = "Only this group." };
        var json = new Option<bool>("--json") { Description = "Print JSON (each agent with its full status) instead of a table." };
        var watch = new Option<bool>("--watch") { Description = "Keep redrawing as agents come, change and go (Ctrl-C to stop)." };
        var forget = new Option<string?>("--forget") { Description = "Remove the record of a stopped or gone agent (with --group, default 'default')." };
        var command = new Command("fleet", "List the agents registered in the service: health, throughput, channel fill.") { group, json, watch, forget };
        service.AddTo(command);
        command.SetAction(async (parse, cancellation) =>
        {
            var errors = new List<string>();
            var options = service.Build(parse, errors);
            if (errors.Count > 0)
            {
                return await ServiceCliOptions.ReportAsync("fleet", errors);
            }
            try
            {
                await using var client = await ServiceCliOptions.ConnectAsync(options, cancellation);
                if (parse.GetValue(forget) is { } id)
                {
                    return await ForgetAsync(client, parse.GetValue(group) ?? ZnodeLayout.DefaultGroup, id, cancellation);
                }
                if (!parse.GetValue(watch))
                {
                    var entries = await Fleet.ReadAsync(client, parse.GetValue(group), DateTimeOffset.UtcNow, cancellation);
                    await Console.Out.WriteAsync(parse.GetValue(json) ? Fleet.FormatJson(entries) + "\n" : Fleet.FormatTable(entries, DateTimeOffset.UtcNow));
                    return 0;
                }
                // Ctrl-C or SIGTERM ends the watch cleanly: exit code 0 and the session closed (not left to expire).
                using var stop = CancellationTokenSource.CreateLinkedTokenSource(cancellation);
                using var sigterm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, ctx => { ctx.Cancel = true; stop.Cancel(); });
                using var sigint = PosixSignalRegistration.Create(PosixSignal.SIGINT, ctx => { ctx.Cancel = true; stop.Cancel(); });
                try
                {
                    await WatchAsync(client, parse.GetValue(group), parse.GetValue(json), Console.Out, stop.Token);
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                }
                return 0;
            }
            catch (OperationCanceledException) when (cancellation.IsCancellationRequested)
            {
                return 0;
            }
            catch (Exception ex) when (ex is KeeperException or TimeoutException)
            {
                await Console.Error.WriteLineAsync($"zooflow fleet: {ex.Message}");
                return 1;
            }
        });
        return command;
    }

    /// <summary>Redraws the fleet on every change until cancelled; ids seen once and no longer listed show as gone.</summary>
    internal static async Task WatchAsync(ZooKeeperClient client, string? group, bool json, TextWriter output, CancellationToken cancellationToken)
    {
        var wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
        void Watcher(WatchedEvent e) => wake.Writer.TryWrite(true);
        using var timer = new Timer(_ => wake.Writer.TryWrite(true), null, RedrawPeriod, RedrawPeriod);
        var seen = new Dictionary<(string Group, string Id), FleetEntry>();
        wake.Writer.TryWrite(true);
        while (await wake.Reader.WaitToReadAsync(cancellationToken))
        {
            wake.Reader.TryRead(out _);
            IReadOnlyList<FleetEntry> entries;
            try
            {
                entries = await Fleet.ReadAsync(client, group, DateTimeOffset.UtcNow, cancellationToken, Watcher);
            }
            catch (KeeperException ex) when (ex.Code == ErrorCode.ConnectionLoss)
            {
                await Task.Delay(RedrawSpacingMin, cancellationToken);
                wake.Writer.TryWrite(true);
                continue;
            }
            var shown = entries.ToList();
            foreach (var entry in entries)
            {
                seen[(entry.Group, entry.Id)] = entry;
            }
            foreach (var (key, last) in seen)
            {
                if (!entries.Any(e => e.Group == key.Group && e.Id == key.Id))
                {
                    shown.Add(last with { Health = "gone", Reasons = ["disappeared while watching"], Status = null });
                }
            }
            shown.Sort((a, b) => string.CompareOrdinal(a.Group + "/" + a.Id, b.Group + "/" + b.Id));
            var now = DateTimeOffset.UtcNow;
            await output.WriteAsync(json ? Fleet.FormatJson(shown) + "\n" : $"--- {now:yyyy-MM-dd HH:mm:ss} UTC\n" + Fleet.FormatTable(shown, now));
            await output.FlushAsync(cancellationToken);
            await Task.Delay(RedrawSpacingMin, cancellationToken);
        }
    }

    private static async Task<int> ForgetAsync(ZooKeeperClient client, string group, string id, CancellationToken cancellationToken)
    {
        if (await client.ExistsAsync(ZnodeLayout.AgentStatus(group, id), cancellationToken: cancellationToken) is not null)
        {
            await Console.Error.WriteLineAsync($"zooflow fleet: {group}/{id} is live; stop it first");
            return 1;
        }
        try
        {
            await client.DeleteAsync(ZnodeLayout.Known(group, id), -1, cancellationToken);
            await Console.Out.WriteLineAsync($"forgot {group}/{id}");
            return 0;
        }
        catch (KeeperException ex) when (ex.Code == ErrorCode.NoNode)
        {
            await Console.Error.WriteLineAsync($"zooflow fleet: no record of {group}/{id}");
            return 1;
        }
    }
}
