using System.CommandLine;
using System.Globalization;
using System.Text;
using Zooflow.Client;
using Zooflow.Jute;
using Zooflow.Recipes;

namespace Zooflow.Cli.Commands;

/// <summary>
/// <c>zooflow shell</c>: a zkCli-compatible shell. <c>zooflow shell -server host:port cmd args</c> runs one command and
/// exits (0 on success, 1 on error); without a command it reads commands from the terminal (line editing, history) or,
/// when stdin is not a terminal, one per line from stdin as zkCli does without JLine.
/// </summary>
internal static class ShellCommand
{
    public static Command Create()
    {
        var command = new Command("shell", "zkCli-compatible shell: zooflow shell [-server host:port[,...][/chroot]] [-timeout ms] [cmd args]")
        {
            TreatUnmatchedTokensAsErrors = false,
        };
        command.SetAction(async (parse, cancellation) =>
        {
            // zkCli's single-dash options (-server, -s, -w ...) are not System.CommandLine options: take the raw tokens.
            var tokens = parse.Tokens.Select(t => t.Value).ToList();
            var start = tokens.IndexOf("shell");
            var args = start >= 0 ? tokens.Skip(start + 1).ToList() : tokens;
            var shell = new ZkShell(Console.Out, Console.Error);
            return await shell.RunAsync(args, cancellation);
        });
        return command;
    }
}

/// <summary>The zkCli command set and output formats (ZooKeeper 3.8's <c>ZooKeeperMain</c> and its <c>*Command</c> classes).</summary>
internal sealed class ZkShell
{
    private const string Usage = """
        ZooKeeper -server host:port -client-configuration properties-file cmd args
        	addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE
        	addauth scheme auth
        	close 
        	connect host:port
        	create [-s] [-e] [-c] [-t ttl] path [data] [acl]
        	delete [-v version] path
        	deleteall path [-b batch size]
        	get [-s] [-w] path
        	getAcl [-s] path
        	getAllChildrenNumber path
        	getEphemerals path
        	history 
        	ls [-s] [-w] [-R] path
        	quit 
        	removewatches path [-c|-d|-a] [-l]
        	set [-s] [-v version] path data
        	setAcl [-s] [-v version] [-R] path acl
        	stat [-w] path
        	sync path
        	version 
        	whoami 
        """;

    private readonly TextWriter _out;
    private readonly TextWriter _err;
    private readonly List<string> _history = [];
    private ZooKeeperClient? _zk;
    private string _server = "localhost:2181";
    private TimeSpan _timeout = TimeSpan.FromSeconds(30);
    private bool _printWatches = true;
    private bool _interactive;

    public ZkShell(TextWriter output, TextWriter error)
    {
        _out = output;
        _err = error;
    }

    public async Task<int> RunAsync(IReadOnlyList<string> args, CancellationToken cancellationToken)
    {
        var rest = new List<string>();
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "-server" when i + 1 < args.Count:
                    _server = args[++i];
                    break;
                case "-timeout" when i + 1 < args.Count && int.TryParse(args[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var ms):
                    _timeout = TimeSpan.FromMilliseconds(ms);
                    i++;
                    break;
                case "-waitforconnection" or "-r":
                    break;
                case "-client-configuration" when i + 1 < args.Count:
                    i++;
                    break;
                default:
                    rest.AddRange(args.Skip(i));
                    i = args.Count;
                    break;
            }
        }

        try
        {
            if (rest.Count > 0)
            {
                _printWatches = false;
                if (!await ConnectAsync(_server, cancellationToken))
                {
                    return 1;
                }

                var ok = await ExecuteAsync(rest, cancellationToken);
                return ok ? 0 : 1;
            }

            _interactive = true;
            await ConnectAsync(_server, cancellationToken);
            var editor = Console.IsInputRedirected ? null : new LineEditor();
            while (!cancellationToken.IsCancellationRequested)
            {
                string? line;
                if (editor is not null)
                {
                    line = editor.ReadLine(Prompt(), _history);
                }
                else
                {
                    line = await Console.In.ReadLineAsync(cancellationToken);
                }

                if (line is null)
                {
                    break;
                }

                var words = Tokenize(line);
                if (words.Count == 0)
                {
                    continue;
                }

                _history.Add(line.Trim());
                if (words[0] is "quit" or "exit")
                {
                    break;
                }

                await ExecuteAsync(words, cancellationToken);
            }

            return 0;
        }
        finally
        {
            if (_zk is not null)
            {
                await _zk.DisposeAsync();
            }
        }
    }

    private string Prompt() =>
        $"[zk: {_server}({(_zk?.State == ConnectionState.Connected ? "CONNECTED" : _zk is null ? "CLOSED" : _zk.State.ToString().ToUpperInvariant())}) {_history.Count}] ";

    private async Task<bool> ConnectAsync(string server, CancellationToken cancellationToken)
    {
        if (_zk is not null)
        {
            await _zk.DisposeAsync();
            _zk = null;
        }

        _server = server;
        if (_interactive)
        {
            await _out.WriteLineAsync("Connecting to " + server);
        }

        var options = new ZooKeeperClientOptions
        {
            SessionTimeout = _timeout,
            ConnectTimeout = _timeout,
            DefaultWatcher = e =>
            {
                if (_printWatches)
                {
                    lock (_out)
                    {
                        _out.WriteLine();
                        _out.WriteLine("WATCHER::");
                        _out.WriteLine();
                        _out.WriteLine(e.ToString());
                        _out.Flush();
                    }
                }
            },
        };
        try
        {
            _zk = await ZooKeeperClient.ConnectAsync(server, options, cancellationToken);
            return true;
        }
        catch (Exception e) when (e is TimeoutException or KeeperException or ArgumentException)
        {
            await _err.WriteLineAsync("Unable to connect to " + server + ": " + e.Message);
            return false;
        }
    }

    /// <summary>Runs one command; false when it failed (the error line is already printed).</summary>
    public async Task<bool> ExecuteAsync(IReadOnlyList<string> words, CancellationToken cancellationToken)
    {
        var name = words[0];
        var (flags, positional) = ParseFlags(words.Skip(1).ToList(), FlagsWithValue(name));
        try
        {
            switch (name)
            {
                case "history":
                    var first = Math.Max(0, _history.Count - 11);
                    for (var i = first; i < _history.Count; i++)
                    {
                        await _out.WriteLineAsync($"{i} - {_history[i]}");
                    }

                    return true;
                case "connect":
                    return await ConnectAsync(positional.Count > 0 ? positional[0] : _server, cancellationToken);
                case "close":
                    if (_zk is not null)
                    {
                        await _zk.CloseAsync(cancellationToken);
                        _zk = null;
                    }

                    return true;
                case "version":
                    await _out.WriteLineAsync("ZooKeeper CLI version: zooflow " + typeof(ZkShell).Assembly.GetName().Version);
                    return true;
                case "printwatches":
                    _printWatches = positional.Count == 0 || positional[0] != "off";
                    return true;
                case "help":
                    await _err.WriteLineAsync(Usage);
                    return true;
            }

            if (!IsKnown(name))
            {
                await _err.WriteLineAsync(Usage);
                await _err.WriteLineAsync("Command not found: Command not found " + name);
                return false;
            }

            if (_zk is null || _zk.State is ConnectionState.Closed or ConnectionState.Expired)
            {
                await _out.WriteLineAsync("Not connected");
                return false;
            }

            return await RunZkCommandAsync(_zk, name, flags, positional, cancellationToken);
        }
        catch (KeeperException e)
        {
            await _err.WriteLineAsync(ErrorLine(e));
            return false;
        }
        catch (ArgumentException e) when (e.Message.StartsWith("Path must", StringComparison.Ordinal) || e.ParamName == "path")
        {
            await _err.WriteLineAsync(e.Message.Split(':')[0].Split(" (Parameter")[0]);
            return false;
        }
        catch (ShellUsageException e)
        {
            await _err.WriteLineAsync(e.Message);
            return false;
        }
    }

    private static bool IsKnown(string name) => name is "ls" or "get" or "set" or "create" or "delete" or "deleteall" or "rmr" or "stat"
        or "getAcl" or "setAcl" or "addauth" or "sync" or "getAllChildrenNumber" or "getEphemerals" or "addWatch" or "removewatches" or "whoami";

    private static HashSet<string> FlagsWithValue(string command) => command switch
    {
        "set" or "delete" or "setAcl" => ["v"],
        "create" => ["t"],
        "addWatch" => ["m"],
        "deleteall" => ["b"],
        _ => [],
    };

    private async Task<bool> RunZkCommandAsync(ZooKeeperClient zk, string name, Dictionary<string, string?> flags, List<string> args, CancellationToken ct)
    {
        string Path(int index = 0) => args.Count > index ? args[index] : throw new ShellUsageException(UsageOf(name));
        int Version() => flags.TryGetValue("v", out var v) && v is not null
            ? int.Parse(v, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture)
            : -1;
        switch (name)
        {
            case "ls":
            {
                var path = Path();
                if (flags.ContainsKey("R"))
                {
                    foreach (var p in await ListSubtreeAsync(zk, path, ct))
                    {
                        await _out.WriteLineAsync(p);
                    }

                    return true;
                }

                var (children, stat) = flags.ContainsKey("w")
                    ? await zk.GetChildrenWithStatAsync(path, watch: true, ct)
                    : await zk.GetChildrenWithStatAsync(path, watch: false, ct);
                await _out.WriteLineAsync("[" + string.Join(", ", children.Order(StringComparer.Ordinal)) + "]");
                if (flags.ContainsKey("s"))
                {
                    await _out.WriteAsync(FormatStat(stat));
                }

                return true;
            }

            case "get":
            {
                var (data, stat) = await zk.GetDataAsync(Path(), watch: flags.ContainsKey("w"), ct);
                await _out.WriteLineAsync(data.Length == 0 ? "null" : Encoding.UTF8.GetString(data));
                if (flags.ContainsKey("s"))
                {
                    await _out.WriteAsync(FormatStat(stat));
                }

                return true;
            }

            case "set":
            {
                var stat = await zk.SetDataAsync(Path(), Encoding.UTF8.GetBytes(args.Count > 1 ? args[1] : throw new ShellUsageException(UsageOf(name))), Version(), ct);
                if (flags.ContainsKey("s"))
                {
                    await _out.WriteAsync(FormatStat(stat));
                }

                return true;
            }

            case "create":
            {
                var ephemeral = flags.ContainsKey("e");
                var sequential = flags.ContainsKey("s");
                var container = flags.ContainsKey("c");
                TimeSpan? ttl = flags.TryGetValue("t", out var t) && t is not null
                    ? TimeSpan.FromMilliseconds(long.Parse(t, NumberStyles.None, CultureInfo.InvariantCulture))
                    : null;
                if (container && (ephemeral || sequential))
                {
                    throw new ShellUsageException("-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.");
                }

                if (ttl is not null && ephemeral)
                {
                    throw new ShellUsageException("TTLs cannot be used with Ephemeral znodes");
                }

                var mode = container ? CreateMode.Container
                    : ttl is not null ? (sequential ? CreateMode.PersistentSequentialWithTtl : CreateMode.PersistentWithTtl)
                    : ephemeral ? (sequential ? CreateMode.EphemeralSequential : CreateMode.Ephemeral)
                    : sequential ? CreateMode.PersistentSequential : CreateMode.Persistent;
                var data = args.Count > 1 ? Encoding.UTF8.GetBytes(args[1]) : null;
                var acl = args.Count > 2 ? ParseAcl(args[2]) : null;
                var created = await zk.CreateAsync(Path(), data, acl, mode, ttl, ct);
                await _err.WriteLineAsync("Created " + created);
                return true;
            }

            case "delete":
                await zk.DeleteAsync(Path(), Version(), ct);
                return true;
            case "deleteall" or "rmr":
                await zk.DeleteRecursiveAsync(Path(), ct);
                return true;
            case "stat":
            {
                var path = Path();
                var stat = flags.ContainsKey("w") ? await zk.ExistsAsync(path, watch: true, ct) : await zk.ExistsAsync(path, watch: false, ct);
                if (stat is null)
                {
                    throw new KeeperException(ErrorCode.NoNode, path);
                }

                await _out.WriteAsync(FormatStat(stat.Value));
                return true;
            }

            case "getAcl":
            {
                var (acl, stat) = await zk.GetAclAsync(Path(), ct);
                foreach (var entry in acl)
                {
                    await _out.WriteLineAsync($"'{entry.Id.Scheme},'{entry.Id.Ident}");
                    await _out.WriteLineAsync(": " + PermString(entry.Perms));
                }

                if (flags.ContainsKey("s"))
                {
                    await _out.WriteAsync(FormatStat(stat));
                }

                return true;
            }

            case "setAcl":
            {
                var path = Path();
                var acl = ParseAcl(args.Count > 1 ? args[1] : throw new ShellUsageException(UsageOf(name)));
                if (flags.ContainsKey("R"))
                {
                    foreach (var p in await ListSubtreeAsync(zk, path, ct))
                    {
                        await zk.SetAclAsync(p, acl, -1, ct);
                    }

                    return true;
                }

                var stat = await zk.SetAclAsync(path, acl, Version(), ct);
                if (flags.ContainsKey("s"))
                {
                    await _out.WriteAsync(FormatStat(stat));
                }

                return true;
            }

            case "addauth":
                await zk.AddAuthAsync(args.Count > 0 ? args[0] : throw new ShellUsageException(UsageOf(name)),
                    Encoding.UTF8.GetBytes(args.Count > 1 ? args[1] : ""), ct);
                return true;
            case "sync":
                await zk.SyncAsync(Path(), ct);
                await _out.WriteLineAsync("Sync is OK");
                return true;
            case "getAllChildrenNumber":
                await _out.WriteLineAsync((await zk.GetAllChildrenNumberAsync(Path(), ct)).ToString(CultureInfo.InvariantCulture));
                return true;
            case "getEphemerals":
            {
                var list = await zk.GetEphemeralsAsync(args.Count > 0 ? args[0] : "/", ct);
                await _out.WriteLineAsync("[" + string.Join(", ", list) + "]");
                return true;
            }

            case "addWatch":
            {
                var mode = flags.TryGetValue("m", out var m) && m is not null
                    ? m switch
                    {
                        "PERSISTENT" => AddWatchMode.Persistent,
                        "PERSISTENT_RECURSIVE" => AddWatchMode.PersistentRecursive,
                        _ => throw new ShellUsageException($"Unsupported mode: {m}"),
                    }
                    : AddWatchMode.PersistentRecursive;
                await zk.AddWatchAsync(Path(), mode, null, ct);
                return true;
            }

            case "removewatches":
            {
                var type = flags.ContainsKey("c") ? WatcherType.Children : flags.ContainsKey("d") ? WatcherType.Data : WatcherType.Any;
                await zk.RemoveWatchesAsync(Path(), type, null, flags.ContainsKey("l"), ct);
                return true;
            }

            case "whoami":
                await _out.WriteLineAsync("Auth scheme: User");
                foreach (var info in await zk.WhoAmIAsync(ct))
                {
                    await _out.WriteLineAsync($"{info.AuthScheme}: {info.User}");
                }

                return true;
            default:
                throw new ShellUsageException("Command not found: Command not found " + name);
        }
    }

    private static async Task<List<string>> ListSubtreeAsync(ZooKeeperClient zk, string root, CancellationToken ct)
    {
        // Breadth first, as ZKUtil.listSubTreeBFS.
        var result = new List<string>();
        var queue = new Queue<string>();
        queue.Enqueue(root);
        while (queue.Count > 0)
        {
            var node = queue.Dequeue();
            result.Add(node);
            foreach (var child in (await zk.GetChildrenAsync(node, cancellationToken: ct)).Order(StringComparer.Ordinal))
            {
                queue.Enqueue(node == "/" ? "/" + child : node + "/" + child);
            }
        }

        return result;
    }

    private static string UsageOf(string name) =>
        Usage.Split('\n').Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith(name + " ", StringComparison.Ordinal)) ?? name;

    /// <summary>The error lines zkCli prints (<c>ZooKeeperMain.processCmd</c> / <c>CliWrapperException</c>).</summary>
    internal static string ErrorLine(KeeperException e) => e.Code switch
    {
        ErrorCode.NoNode => "Node does not exist: " + e.Path,
        ErrorCode.NodeExists => "Node already exists: " + e.Path,
        ErrorCode.NotEmpty => "Node not empty: " + e.Path,
        ErrorCode.BadVersion => "version No is not valid : " + e.Path,
        ErrorCode.NoAuth => "Insufficient permission : " + e.Path,
        ErrorCode.NoChildrenForEphemerals => "Ephemerals cannot have children: " + e.Path,
        ErrorCode.InvalidAcl => "Acl is not valid : " + e.Path,
        ErrorCode.BadArguments => "Arguments are not valid : " + e.Path,
        ErrorCode.NoWatcher => "No such watcher: " + e.Path,
        _ => e.Message,
    };

    /// <summary>zkCli's stat block (<c>StatPrinter</c>): hex zxids, Java <c>Date.toString()</c> times (UTC here).</summary>
    internal static string FormatStat(Stat stat)
    {
        static string Hex(long v) => "0x" + v.ToString("x", CultureInfo.InvariantCulture);
        static string Time(long ms) =>
            DateTimeOffset.FromUnixTimeMilliseconds(ms).UtcDateTime.ToString("ddd MMM dd HH:mm:ss 'UTC' yyyy", CultureInfo.InvariantCulture);
        var b = new StringBuilder();
        b.Append("cZxid = ").Append(Hex(stat.Czxid)).Append('\n');
        b.Append("ctime = ").Append(Time(stat.Ctime)).Append('\n');
        b.Append("mZxid = ").Append(Hex(stat.Mzxid)).Append('\n');
        b.Append("mtime = ").Append(Time(stat.Mtime)).Append('\n');
        b.Append("pZxid = ").Append(Hex(stat.Pzxid)).Append('\n');
        b.Append("cversion = ").Append(stat.Cversion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        b.Append("dataVersion = ").Append(stat.Version.ToString(CultureInfo.InvariantCulture)).Append('\n');
        b.Append("aclVersion = ").Append(stat.Aversion.ToString(CultureInfo.InvariantCulture)).Append('\n');
        b.Append("ephemeralOwner = ").Append(Hex(stat.EphemeralOwner)).Append('\n');
        b.Append("dataLength = ").Append(stat.DataLength.ToString(CultureInfo.InvariantCulture)).Append('\n');
        b.Append("numChildren = ").Append(stat.NumChildren.ToString(CultureInfo.InvariantCulture)).Append('\n');
        return b.ToString();
    }

    internal static string PermString(Perms perms)
    {
        var b = new StringBuilder();
        if (perms.HasFlag(Perms.Create))
        {
            b.Append('c');
        }

        if (perms.HasFlag(Perms.Delete))
        {
            b.Append('d');
        }

        if (perms.HasFlag(Perms.Read))
        {
            b.Append('r');
        }

        if (perms.HasFlag(Perms.Write))
        {
            b.Append('w');
        }

        if (perms.HasFlag(Perms.Admin))
        {
            b.Append('a');
        }

        return b.ToString();
    }

    /// <summary>Parses <c>scheme:id:perms[,scheme:id:perms...]</c> (the id may itself contain colons, as digest ids do).</summary>
    internal static List<Acl> ParseAcl(string text)
    {
        var result = new List<Acl>();
        foreach (var part in text.Split(',', StringSplitOptions.RemoveEmptyEntries))
        {
            var first = part.IndexOf(':', StringComparison.Ordinal);
            var last = part.LastIndexOf(':');
            if (first < 0 || last == first)
            {
                throw new ShellUsageException($"{part} does not have the form scheme:id:perm");
            }

            var perms = Perms.None;
            foreach (var c in part[(last + 1)..])
            {
                perms |= c switch
                {
                    'c' => Perms.Create,
                    'd' => Perms.Delete,
                    'r' => Perms.Read,
                    'w' => Perms.Write,
                    'a' => Perms.Admin,
                    _ => throw new ShellUsageException($"Unknown perm type: {c}"),
                };
            }

            result.Add(new Acl(perms, new Id(part[..first], part[(first + 1)..last])));
        }

        return result;
    }

    private static (Dictionary<string, string?> Flags, List<string> Positional) ParseFlags(List<string> words, HashSet<string> withValue)
    {
        var flags = new Dictionary<string, string?>(StringComparer.Ordinal);
        var positional = new List<string>();
        for (var i = 0; i < words.Count; i++)
        {
            var w = words[i];
            if (w.Length >= 2 && w[0] == '-' && !char.IsDigit(w[1]) && positional.Count == 0)
            {
                var flag = w[1..];
                if (withValue.Contains(flag) && i + 1 < words.Count)
                {
                    flags[flag] = words[++i];
                }
                else
                {
                    foreach (var c in flag)
                    {
                        flags[c.ToString()] = null;
                    }
                }
            }
            else
            {
                positional.Add(w);
            }
        }

        return (flags, positional);
    }

    /// <summary>Splits a command line on spaces; single or double quotes group words (as zkCli's MyCommandOptions).</summary>
    internal static List<string> Tokenize(string line)
    {
        var words = new List<string>();
        var current = new StringBuilder();
        char? quote = null;
        var has = false;
        foreach (var c in line)
        {
            if (quote is { } q)
            {
                if (c == q)
                {
                    quote = null;
                }
                else
                {
                    current.Append(c);
                }
            }
            else if (c is '"' or '\'')
            {
                quote = c;
                has = true;
            }
            else if (char.IsWhiteSpace(c))
            {
                if (has || current.Length > 0)
                {
                    words.Add(current.ToString());
                    current.Clear();
                    has = false;
                }
            }
            else
            {
                current.Append(c);
            }
        }

        if (has || current.Length > 0)
        {
            words.Add(current.ToString());
        }

        return words;
    }

    private sealed class ShellUsageException(string message) : Exception(message);
}

/// <summary>
/// A small line editor for the interactive shell: left/right, home/end, backspace/delete, up/down through history,
/// Ctrl+A/E/U/K, Ctrl+D on an empty line to quit. Used only when stdin is a terminal.
/// </summary>
internal sealed class LineEditor
{
    public string? ReadLine(string prompt, IReadOnlyList<string> history)
    {
        var buffer = new StringBuilder();
        var cursor = 0;
        var historyIndex = history.Count;
        var saved = "";
        Console.Write(prompt);
        while (true)
        {
            var key = Console.ReadKey(intercept: true);
            switch (key.Key)
            {
                case ConsoleKey.Enter:
                    Console.WriteLine();
                    return buffer.ToString();
                case ConsoleKey.Backspace when cursor > 0:
                    buffer.Remove(--cursor, 1);
                    break;
                case ConsoleKey.Delete when cursor < buffer.Length:
                    buffer.Remove(cursor, 1);
                    break;
                case ConsoleKey.LeftArrow when cursor > 0:
                    cursor--;
                    break;
                case ConsoleKey.RightArrow when cursor < buffer.Length:
                    cursor++;
                    break;
                case ConsoleKey.Home:
                    cursor = 0;
                    break;
                case ConsoleKey.End:
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.UpArrow when historyIndex > 0:
                    if (historyIndex == history.Count)
                    {
                        saved = buffer.ToString();
                    }

                    historyIndex--;
                    buffer.Clear().Append(history[historyIndex]);
                    cursor = buffer.Length;
                    break;
                case ConsoleKey.DownArrow when historyIndex < history.Count:
                    historyIndex++;
                    buffer.Clear().Append(historyIndex == history.Count ? saved : history[historyIndex]);
                    cursor = buffer.Length;
                    break;
                default:
                    if ((key.Modifiers & ConsoleModifiers.Control) != 0)
                    {
                        switch (key.Key)
                        {
                            case ConsoleKey.D when buffer.Length == 0:
                                Console.WriteLine();
                                return null;
                            case ConsoleKey.A:
                                cursor = 0;
                                break;
                            case ConsoleKey.E:
                                cursor = buffer.Length;
                                break;
                            case ConsoleKey.U:
                                buffer.Remove(0, cursor);
                                cursor = 0;
                                break;
                            case ConsoleKey.K:
                                buffer.Remove(cursor, buffer.Length - cursor);
                                break;
                        }
                    }
                    else if (!char.IsControl(key.KeyChar))
                    {
                        buffer.Insert(cursor++, key.KeyChar);
                    }

                    break;
            }

            // Redraw: carriage return, prompt, buffer, clear to end of line, then put the cursor back.
            Console.Write("\r" + prompt + buffer + "\u001b[K");
            var back = buffer.Length - cursor;
            if (back > 0)
            {
                Console.Write($"\u001b[{back}D");
            }
        }
    }
}
