using Zooflow.Jute;

namespace Zooflow.Client;

/// <summary>
/// The client's watch tables (Java's <c>ZKWatchManager</c>), keyed by client path. One-time watches are removed when they
/// fire; persistent ones stay until removed. Thread-safe (one lock; the tables are small and touched once per event).
/// </summary>
internal sealed class WatchRegistry
{
    private readonly object _lock = new();
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _data = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _exist = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _child = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _persistent = new(StringComparer.Ordinal);
    private readonly Dictionary<string, HashSet<Action<WatchedEvent>>> _recursive = new(StringComparer.Ordinal);

    public bool IsEmpty
    {
        get
        {
            lock (_lock)
            {
                return _data.Count + _exist.Count + _child.Count + _persistent.Count + _recursive.Count == 0;
            }
        }
    }

    public void Register(WatchRegistration registration, ErrorCode err)
    {
        Dictionary<string, HashSet<Action<WatchedEvent>>>? table = (registration.Kind, err) switch
        {
            (WatchKind.Data, ErrorCode.Ok) => _data,
            (WatchKind.Exists, ErrorCode.Ok) => _data,
            (WatchKind.Exists, ErrorCode.NoNode) => _exist,
            (WatchKind.Child, ErrorCode.Ok) => _child,
            (WatchKind.Persistent, ErrorCode.Ok) => _persistent,
            (WatchKind.PersistentRecursive, ErrorCode.Ok) => _recursive,
            _ => null,
        };
        if (table is null)
        {
            return;
        }

        lock (_lock)
        {
            Add(table, registration.ClientPath, registration.Watcher);
        }
    }

    /// <summary>The watchers a node event triggers; one-time watchers are removed (Java's <c>materialize</c>).</summary>
    public List<Action<WatchedEvent>> Materialize(EventType type, string path)
    {
        var result = new List<Action<WatchedEvent>>();
        lock (_lock)
        {
            switch (type)
            {
                case EventType.NodeDataChanged or EventType.NodeCreated:
                    Take(_data, path, result);
                    Take(_exist, path, result);
                    break;
                case EventType.NodeChildrenChanged:
                    Take(_child, path, result);
                    break;
                case EventType.NodeDeleted:
                    Take(_data, path, result);
                    Take(_exist, path, result);
                    Take(_child, path, result);
                    break;
            }

            if (_persistent.TryGetValue(path, out var persistent))
            {
                result.AddRange(persistent);
            }

            if (type != EventType.NodeChildrenChanged && _recursive.Count > 0)
            {
                for (var p = path; ; p = Parent(p))
                {
                    if (_recursive.TryGetValue(p, out var recursive))
                    {
                        result.AddRange(recursive);
                    }

                    if (p == "/")
                    {
                        break;
                    }
                }
            }
        }

        return Distinct(result);
    }

    /// <summary>Every registered watcher (state events go to all of them); clears the tables when <paramref name="clear"/>.</summary>
    public List<Action<WatchedEvent>> All(bool clear)
    {
        var result = new List<Action<WatchedEvent>>();
        lock (_lock)
        {
            foreach (var table in new[] { _data, _exist, _child, _persistent, _recursive })
            {
                foreach (var set in table.Values)
                {
                    result.AddRange(set);
                }

                if (clear)
                {
                    table.Clear();
                }
            }
        }

        return Distinct(result);
    }

    /// <summary>Paths to re-register after a reconnect: data, exist, child, persistent, persistent-recursive.</summary>
    public (List<string> Data, List<string> Exist, List<string> Child, List<string> Persistent, List<string> Recursive) Snapshot()
    {
        lock (_lock)
        {
            return ([.. _data.Keys], [.. _exist.Keys], [.. _child.Keys], [.. _persistent.Keys], [.. _recursive.Keys]);
        }
    }

    /// <summary>True if a matching watcher is registered (null watcher = any).</summary>
    public bool Contains(string path, WatcherType type, Action<WatchedEvent>? watcher)
    {
        lock (_lock)
        {
            foreach (var table in Tables(type))
            {
                if (table.TryGetValue(path, out var set) && (watcher is null ? set.Count > 0 : set.Contains(watcher)))
                {
                    return true;
                }
            }
        }

        return false;
    }

    /// <summary>Removes matching watchers; returns each removed watcher with the event type it is told.</summary>
    public List<(Action<WatchedEvent> Watcher, EventType Type)> Remove(string path, WatcherType type, Action<WatchedEvent>? watcher)
    {
        var removed = new List<(Action<WatchedEvent>, EventType)>();
        lock (_lock)
        {
            foreach (var table in Tables(type))
            {
                if (!table.TryGetValue(path, out var set))
                {
                    continue;
                }

                var eventType = table == _child ? EventType.ChildWatchRemoved
                    : table == _data || table == _exist ? EventType.DataWatchRemoved
                    : EventType.PersistentWatchRemoved;
                if (watcher is null)
                {
                    foreach (var w in set)
                    {
                        removed.Add((w, eventType));
                    }

                    table.Remove(path);
                }
                else if (set.Remove(watcher))
                {
                    removed.Add((watcher, eventType));
                    if (set.Count == 0)
                    {
                        table.Remove(path);
                    }
                }
            }
        }

        return removed;
    }

    private IEnumerable<Dictionary<string, HashSet<Action<WatchedEvent>>>> Tables(WatcherType type) => type switch
    {
        WatcherType.Children => [_child],
        WatcherType.Data => [_data, _exist],
        WatcherType.Persistent => [_persistent],
        WatcherType.PersistentRecursive => [_recursive],
        _ => [_data, _exist, _child, _persistent, _recursive],
    };

    private static void Add(Dictionary<string, HashSet<Action<WatchedEvent>>> table, string path, Action<WatchedEvent> watcher)
    {
        if (!table.TryGetValue(path, out var set))
        {
            set = [];
            table[path] = set;
        }

        set.Add(watcher);
    }

    private static void Take(Dictionary<string, HashSet<Action<WatchedEvent>>> table, string path, List<Action<WatchedEvent>> result)
    {
        if (table.Remove(path, out var set))
        {
            result.AddRange(set);
        }
    }

    private static List<Action<WatchedEvent>> Distinct(List<Action<WatchedEvent>> list)
    {
        if (list.Count < 2)
        {
            return list;
        }

        var seen = new HashSet<Action<WatchedEvent>>();
        var result = new List<Action<WatchedEvent>>(list.Count);
        foreach (var w in list)
        {
            if (seen.Add(w))
            {
                result.Add(w);
            }
        }

        return result;
    }

    internal static string Parent(string path)
    {
        var slash = path.LastIndexOf('/');
        return slash <= 0 ? "/" : path[..slash];
    }
}
