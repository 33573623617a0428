using System.Diagnostics;
using System.Globalization;
using System.Text;
using Xunit;
using Zooflow.TestKit;

namespace Zooflow.Pipeline.Kafka.Tests.Infrastructure;

/// <summary>One Kafka record as kcat printed it.</summary>
internal sealed record KcatRecord(int Partition, long Offset, byte[]? Key, byte[] Value, long TimestampMs, string Headers)
{
    public string? KeyText => Key is null ? null : Encoding.UTF8.GetString(Key);

    public string ValueText => Encoding.UTF8.GetString(Value);
}

/// <summary>
/// Debian's kcat (librdkafka 2.0.2, an independent client build) as the producer and consumer the components are
/// checked against. Installed by scripts/install-test-deps.sh.
/// </summary>
internal static class Kcat
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(60);

    /// <summary>Skips the test when kcat is not installed (run scripts/install-test-deps.sh).</summary>
    public static void Require()
    {
        if (!File.Exists("/usr/bin/kcat"))
        {
            Assert.Skip("kcat is not installed (scripts/install-test-deps.sh installs it)");
        }
    }

    /// <summary>Produces "key TAB value" records (acks=all) and waits until kcat delivered all of them.</summary>
    public static async Task ProduceAsync(string bootstrap, string topic, IEnumerable<(string Key, string Value)> records, int? partition = null)
    {
        Require();
        var input = new StringBuilder();
        foreach (var (key, value) in records)
        {
            input.Append(key).Append('\t').Append(value).Append('\n');
        }
        var args = new List<string> { "-P", "-b", bootstrap, "-t", topic, "-K", "\t", "-X", "acks=all", "-q" };
        if (partition is { } p)
        {
            args.AddRange(["-p", p.ToString(CultureInfo.InvariantCulture)]);
        }
        var result = await ProcessRunner.RunAsync("kcat", args, Limit, stdin: input.ToString());
        Assert.True(result.ExitCode == 0, $"kcat -P failed: {result}");
    }

    /// <summary>Reads every record of <paramref name="topic"/> from the beginning up to the end of each partition.</summary>
    public static async Task<List<KcatRecord>> ConsumeAllAsync(string bootstrap, string topic)
    {
        Require();
        var info = new ProcessStartInfo("kcat")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var arg in new[] { "-C", "-b", bootstrap, "-t", topic, "-o", "beginning", "-e", "-q", "-f", "%p %o %K %S %T %h\\n%k%s" })
        {
            info.ArgumentList.Add(arg);
        }
        using var process = Process.Start(info) ?? throw new InvalidOperationException("could not start kcat");
        var stderrTask = process.StandardError.ReadToEndAsync();
        using var output = new MemoryStream();
        using var timeout = new CancellationTokenSource(Limit);
        try
        {
            await process.StandardOutput.BaseStream.CopyToAsync(output, timeout.Token);
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new TimeoutException($"kcat -C did not finish within {Limit}: {await stderrTask}");
        }
        Assert.True(process.ExitCode == 0, $"kcat -C exited with {process.ExitCode}: {await stderrTask}");
        return Parse(output.ToArray());
    }

    /// <summary>Parses "%p %o %K %S %T %h\n%k%s" records; lengths make it binary-safe.</summary>
    private static List<KcatRecord> Parse(byte[] data)
    {
        var records = new List<KcatRecord>();
        var position = 0;
        while (position < data.Length)
        {
            var newline = Array.IndexOf(data, (byte)'\n', position);
            var header = Encoding.UTF8.GetString(data, position, newline - position).Split(' ', 6);
            position = newline + 1;
            var keyLength = int.Parse(header[2], CultureInfo.InvariantCulture);
            var valueLength = int.Parse(header[3], CultureInfo.InvariantCulture);
            byte[]? key = keyLength < 0 ? null : data[position..(position + keyLength)];
            position += Math.Max(0, keyLength);
            var value = valueLength < 0 ? [] : data[position..(position + valueLength)];
            position += Math.Max(0, valueLength);
            records.Add(new KcatRecord(int.Parse(header[0], CultureInfo.InvariantCulture), long.Parse(header[1], CultureInfo.InvariantCulture),
                key, value, long.Parse(header[4], CultureInfo.InvariantCulture), header.Length > 5 ? header[5] : ""));
        }
        return records;
    }
}
