using BenchmarkDotNet.Attributes;
using Zooflow.DataTree;

namespace Zooflow.Benchmarks;

/// <summary>
/// The tree's side of the create path and of reads. "Allocated" per create includes what the new znode keeps (about 310
/// bytes with a 100-byte value, see <c>--retained</c>) plus the per-transaction garbage (result, watch triggers, names).
/// </summary>
[MemoryDiagnoser]
public class TreeBenchmarks
{
    private const int CreatesPerInvoke = 10_000;
    private CreateLoad _load = null!;
    private ZnodeTree _full = null!;
    private string[] _paths = [];
    private NodeRecord[] _chunk = [];

    [GlobalSetup]
    public void Setup()
    {
        var load = new CreateLoad(new ZnodeTree());
        var paths = new List<string>();
        for (var i = 0; i < 100_000; i++)
        {
            paths.Add(load.CreateNext(i % 4).Path!);
        }

        _full = load.Tree;
        _paths = [.. paths.Where((_, i) => i % 97 == 0)];
        _chunk = new NodeRecord[2000];
    }

    [IterationSetup(Target = nameof(ApplyCreate))]
    public void FreshTree() => _load = new CreateLoad(new ZnodeTree());

    /// <summary>ZnodeTree.Apply of one sequential create (the loop's apply step).</summary>
    [Benchmark(OperationsPerInvoke = CreatesPerInvoke)]
    public int ApplyCreate()
    {
        var n = 0;
        for (var i = 0; i < CreatesPerInvoke; i++)
        {
            n += _load.CreateNext(i & 3).Triggers.Count;
        }

        return n;
    }

    /// <summary>getData's lookup: walk four names from the root, copy the Stat.</summary>
    [Benchmark(OperationsPerInvoke = 1000)]
    public long TryGetData()
    {
        long sum = 0;
        for (var i = 0; i < 1000; i++)
        {
            _full.TryGetData(_paths[i % _paths.Length], out var data, out var stat, out _);
            sum += data.Length + stat.Version;
        }

        return sum;
    }

    /// <summary>A whole fuzzy-snapshot walk over 100,000 znodes in 2,000-node chunks (per node).</summary>
    [Benchmark(OperationsPerInvoke = 100_000)]
    public int FuzzyWalk()
    {
        var walk = new FuzzyTreeWalk(_full);
        int n, total = 0;
        while ((n = walk.Collect(_chunk)) > 0)
        {
            total += n;
        }

        return total;
    }
}
