using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text;
using Zooflow.Consensus.Messages;
using Zooflow.Consensus.Tests.Harness;

namespace Zooflow.Consensus.Tests;

/// <summary>
/// Replays the scenario scripts in <c>testdata/*.txt</c> against a hand-driven <see cref="TestCluster"/> and compares
/// the traces (etcd raft's interaction tests are the model). <c>ZOOFLOW_REWRITE=1 dotnet test --project
/// tests/Zooflow.Consensus.Tests</c> rewrites the scripts with the actual traces; review the diff like code.
/// </summary>
/// <remarks>Commands: <c>cluster voters=1,2,3 observers=4 diff-max=N events=false pings=false</c>, <c>tick [ids] n=K</c>,
/// <c>run n=K</c> (tick all, stabilize), <c>elect</c>, <c>process</c>, <c>deliver [from=] [to=] [type=] [drop=true]</c>,
/// <c>stabilize</c>, <c>propose id value</c>, <c>forward id value</c>, <c>sync id syncId</c>, <c>report id value</c>,
/// <c>crash id</c>, <c>restart id</c>, <c>partition ids</c>, <c>heal</c>, <c>status [ids]</c>, <c>log id</c>,
/// <c>applied [ids]</c>, <c>compact id through=0x..</c>.</remarks>
public sealed class InteractionTests
{
    public static TheoryData<string> Scripts()
    {
        var data = new TheoryData<string>();
        foreach (string file in Directory.GetFiles(Path.Combine(AppContext.BaseDirectory, "testdata"), "*.txt").Order(StringComparer.Ordinal))
        {
            data.Add(Path.GetFileName(file));
        }

        return data;
    }

    [Theory]
    [MemberData(nameof(Scripts))]
    public void Script_Replayed_MatchesTrace(string script) =>
        DataDriven.Run(Path.Combine(AppContext.BaseDirectory, "testdata", script), new ScriptRunner().Execute,
            Path.Combine(SourceDirectory(), "testdata", script));

    private static string SourceDirectory([CallerFilePath] string path = "") => Path.GetDirectoryName(path)!;

    private sealed class ScriptRunner
    {
        private TestCluster? _cluster;

        private TestCluster Cluster => _cluster ?? throw new InvalidOperationException("'cluster' must come first");

        public string Execute(ScriptCommand c)
        {
            var output = new StringBuilder();
            switch (c.Name)
            {
                case "cluster":
                    int diffMax = c.IntArg("diff-max", 100_000);
                    _cluster = new TestCluster(c.Ids("voters"), c.Ids("observers"), o => o with { DiffEntriesMax = diffMax })
                    {
                        TraceEvents = c.Arg("events", "true") == "true",
                        TracePings = c.Arg("pings", "true") == "true",
                    };
                    _cluster.ProcessAll();
                    break;
                case "tick":
                    foreach (long id in IdsOrAll(c))
                    {
                        Cluster.Tick(id, c.IntArg("n", 1));
                    }

                    break;
                case "run":
                    Cluster.Run(c.IntArg("n", 1));
                    break;
                case "elect":
                    long leader = Cluster.ElectAndSettle();
                    Cluster.TakeTrace();
                    output.Append(CultureInfo.InvariantCulture, $"leader {leader}\n");
                    foreach (long id in Cluster.Nodes.Keys)
                    {
                        output.Append(Status(id)).Append('\n');
                    }

                    return output.ToString();
                case "process":
                    foreach (long id in IdsOrAll(c))
                    {
                        Cluster.Process(id);
                    }

                    break;
                case "deliver":
                    string type = c.Arg("type", "");
                    long from = c.IntArg("from", -1), to = c.IntArg("to", -1);
                    int n = Cluster.Deliver(
                        m => (from < 0 || m.From == from) && (to < 0 || m.To == to) && (type.Length == 0 || m.GetType().Name == type),
                        drop: c.Arg("drop", "false") == "true");
                    if (n == 0)
                    {
                        output.Append("no messages\n");
                    }

                    break;
                case "stabilize":
                    Cluster.Stabilize();
                    break;
                case "propose":
                    Cluster.Propose(long.Parse(c.Positional[0], CultureInfo.InvariantCulture), c.Positional[1]);
                    break;
                case "forward":
                    Cluster.StepLocal(Id(c), new ForwardRequest(Encoding.UTF8.GetBytes(c.Positional[1])));
                    break;
                case "sync":
                    Cluster.StepLocal(Id(c), new RequestSync(long.Parse(c.Positional[1], CultureInfo.InvariantCulture)));
                    break;
                case "report":
                    Cluster.StepLocal(Id(c), new ReportSessions(Encoding.UTF8.GetBytes(c.Positional[1])));
                    break;
                case "crash":
                    Cluster.Crash(Id(c));
                    break;
                case "restart":
                    Cluster.Restart(Id(c));
                    break;
                case "partition":
                    Cluster.Partition(c.PositionalIds);
                    break;
                case "heal":
                    Cluster.Heal();
                    break;
                case "compact":
                    Cluster.Compact(Id(c), Convert.ToInt64(c.Arg("through", "0"), 16));
                    break;
                case "status":
                    foreach (long id in IdsOrAll(c))
                    {
                        output.Append(Status(id)).Append('\n');
                    }

                    break;
                case "log":
                    MemoryStorage storage = Cluster[Id(c)].Storage;
                    output.Append(CultureInfo.InvariantCulture, $"{Id(c)}: {storage.HardState} base={Zxid.ToHex(storage.Base)} log=[")
                        .Append(string.Join(' ', storage.Entries.Select(e => $"{Zxid.ToHex(e.Zxid)}={Encoding.UTF8.GetString(e.Data.Span)}")))
                        .Append("]\n");
                    break;
                case "applied":
                    foreach (long id in IdsOrAll(c))
                    {
                        output.Append(CultureInfo.InvariantCulture, $"{id}: ")
                            .Append(string.Join(' ', Cluster[id].Applied.Select(a => $"{Zxid.ToHex(a.Zxid)}={a.Value}")))
                            .Append('\n');
                    }

                    break;
                default:
                    throw new InvalidOperationException($"line {c.Line}: unknown command '{c.Name}'");
            }

            return Cluster.TakeTrace() + output;
        }

        private static long Id(ScriptCommand c) => long.Parse(c.Positional[0], CultureInfo.InvariantCulture);

        private IEnumerable<long> IdsOrAll(ScriptCommand c) => c.Positional.Count > 0 ? c.PositionalIds : Cluster.Nodes.Keys;

        private string Status(long id)
        {
            TestNode node = Cluster[id];
            if (!node.Up)
            {
                return $"{id}: down";
            }

            ZabStatus s = node.Core.Status;
            return $"{id}: {s.ServerStateName} {s.Phase} leader={s.LeaderId} serving={s.IsServing.ToString().ToLowerInvariant()} " +
                $"epoch={s.AcceptedEpoch}/{s.CurrentEpoch} last={Zxid.ToHex(s.LastZxid)} committed={Zxid.ToHex(s.CommittedZxid)}" +
                (s.State == PeerState.Leading
                    ? $" followers={s.SyncedFollowers}/{s.Followers} observers={s.SyncedObservers}/{s.Observers} pending={s.PendingProposals}"
                    : "");
        }
    }
}
