using System.Globalization;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Running;
using Zooflow.Benchmarks;
using Zooflow.DataTree;
#if DEBUG
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Toolchains.InProcess.NoEmit;
#endif

// Micro-benchmarks of the server's hot paths (BenchmarkDotNet). Release: `dotnet run -c Release --project
// bench/Zooflow.Benchmarks -- --filter '*'`. A Debug build runs every benchmark once in-process (a smoke run).
// `-- --retained [count]` prints the bytes a znode of the create load keeps alive (GC heap after a full collection).
if (args is ["--retained", ..])
{
    var count = args.Length > 1 ? int.Parse(args[1], CultureInfo.InvariantCulture) : 500_000;
    RetainedMemory.Print(count);
    return;
}

IConfig config = DefaultConfig.Instance;
#if DEBUG
config = DefaultConfig.Instance
    .AddJob(Job.Dry.WithToolchain(InProcessNoEmitToolchain.Instance))
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
#endif
BenchmarkSwitcher.FromAssembly(typeof(TreeBenchmarks).Assembly).Run(args, config);

/// <summary>Retained heap per znode for the create load.</summary>
internal static class RetainedMemory
{
    public static void Print(int count)
    {
        var before = GC.GetTotalMemory(forceFullCollection: true);
        var load = new CreateLoad(new ZnodeTree());
        for (var i = 0; i < count; i++)
        {
            load.CreateNext(i & 3);
        }

        var after = GC.GetTotalMemory(forceFullCollection: true);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"{load.Tree.NodeCount} znodes (100-byte values, 4 parents): {(after - before) / (double)count:0} bytes retained per znode, {(after - before) / 1048576.0:0.0} MiB"));
        GC.KeepAlive(load);
    }
}
