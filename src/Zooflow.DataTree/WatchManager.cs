using Zooflow.Jute;

namespace Zooflow.DataTree;

/// <summary>How a session watches a path.</summary>
public enum WatchKind
{
    /// <summary>One-shot watch set by getData or exists (ZooKeeper's data watch table).</summary>
    Data = 0,
    /// <summary>One-shot watch set by getChildren (ZooKeeper's child watch table).</summary>
    Child = 1,
    /// <summary>addWatch PERSISTENT: data and child events on the path, until removed.</summary>
    Persistent = 2,
    /// <summary>addWatch PERSISTENT_RECURSIVE: created/deleted/data events on the path and every descendant, never NodeChildrenChanged.</summary>
    PersistentRecursive = 3,
}

/// <summary>One event to send to one session.</summary>
/// <param name="SessionId">The receiving session.</param>
/// <param name="Event">The notification body (state SyncConnected).</param>
public readonly record struct WatchDelivery(long SessionId, WatcherEvent Event);

/// <summary>
/// The watch registry (ZooKeeper's two <c>WatchManager</c>s, data and child, with <c>WatcherModeManager</c>): which session
/// watches which path in which mode, and who gets which event when a <see cref="WatchTrigger"/> fires.
/// </summary>
/// <remarks>
/// Not thread-safe: owned by the server loop that applies transactions, so a trigger's deliveries are computed before the
/// reply of the request that caused it is sent (watch-before-data). Semantics follow ZooKeeper 3.8:
/// <list type="bullet">
/// <item>Each table keeps one mode per (session, path): a later registration replaces the earlier mode, as in ZooKeeper.</item>
/// <item>A trigger gives each session at most one event; one-shot watches are removed when they fire.</item>
/// <item>NodeCreated and NodeDataChanged consult the data table; NodeChildrenChanged the child table; NodeDeleted the data
/// table, then the child table without repeating sessions already notified.</item>
/// <item>Recursive watches on the path or any ancestor fire for every type except NodeChildrenChanged.</item>
/// </list>
/// Deliveries within one trigger are in order of registration discovery (path first, then ancestors; sessions ascending).
/// </remarks>
public sealed class WatchManager
{
    private enum Mode
    {
        Standard,
        Persistent,
        PersistentRecursive,
    }

    private sealed class Table
    {
        public readonly Dictionary<string, SortedDictionary<long, Mode>> ByPath = new(StringComparer.Ordinal);
        public readonly Dictionary<long, HashSet<string>> BySession = [];
        public int RecursiveCount;

        public void Add(long session, string path, Mode mode)
        {
            if (!ByPath.TryGetValue(path, out SortedDictionary<long, Mode>? watchers))
            {
                watchers = [];
                ByPath[path] = watchers;
            }

            if (watchers.TryGetValue(session, out Mode old) && old == Mode.PersistentRecursive)
            {
                RecursiveCount--;
            }

            watchers[session] = mode;
            if (mode == Mode.PersistentRecursive)
            {
                RecursiveCount++;
            }

            if (!BySession.TryGetValue(session, out HashSet<string>? paths))
            {
                paths = new HashSet<string>(StringComparer.Ordinal);
                BySession[session] = paths;
            }

            paths.Add(path);
        }

        /// <summary>False when no watch can fire for <paramref name="path"/>: nothing at the path and no recursive watch anywhere.</summary>
        public bool MayFire(string path) => RecursiveCount > 0 || ByPath.ContainsKey(path);

        public bool Contains(long session, string path, Mode? mode) =>
            ByPath.TryGetValue(path, out SortedDictionary<long, Mode>? w) && w.TryGetValue(session, out Mode m) && (mode is null || m == mode);

        public bool Remove(long session, string path, Mode? mode)
        {
            if (!ByPath.TryGetValue(path, out SortedDictionary<long, Mode>? w) || !w.TryGetValue(session, out Mode m) || (mode is not null && m != mode))
            {
                return false;
            }

            w.Remove(session);
            if (m == Mode.PersistentRecursive)
            {
                RecursiveCount--;
            }

            if (w.Count == 0)
            {
                ByPath.Remove(path);
            }

            if (BySession.TryGetValue(session, out HashSet<string>? paths))
            {
                paths.Remove(path);
                if (paths.Count == 0)
                {
                    BySession.Remove(session);
                }
            }

            return true;
        }

        public void RemoveSession(long session)
        {
            if (!BySession.Remove(session, out HashSet<string>? paths))
            {
                return;
            }

            foreach (string p in paths)
            {
                if (ByPath.TryGetValue(p, out SortedDictionary<long, Mode>? w) && w.Remove(session, out Mode m))
                {
                    if (m == Mode.PersistentRecursive)
                    {
                        RecursiveCount--;
                    }

                    if (w.Count == 0)
                    {
                        ByPath.Remove(p);
                    }
                }
            }
        }

        // WatchManager.triggerWatch.
        public void Trigger(string path, EventType type, List<long> fired, HashSet<long> seen, HashSet<long>? suppress)
        {
            string? local = path;
            bool atParent = false;
            while (local is not null)
            {
                if (ByPath.TryGetValue(local, out SortedDictionary<long, Mode>? watchers))
                {
                    List<long>? oneShot = null;
                    foreach ((long session, Mode mode) in watchers)
                    {
                        if (mode == Mode.PersistentRecursive)
                        {
                            if (type != EventType.NodeChildrenChanged)
                            {
                                Fire(session);
                            }
                        }
                        else if (!atParent)
                        {
                            Fire(session);
                            if (mode == Mode.Standard)
                            {
                                (oneShot ??= []).Add(session);
                            }
                        }
                    }

                    if (oneShot is not null)
                    {
                        foreach (long s in oneShot)
                        {
                            Remove(s, local, Mode.Standard);
                        }
                    }
                }

                if (RecursiveCount == 0 || local == "/")
                {
                    break;
                }

                local = PathValidator.ParentOf(local);
                atParent = true;
            }

            void Fire(long session)
            {
                if ((suppress is null || !suppress.Contains(session)) && seen.Add(session))
                {
                    fired.Add(session);
                }
            }
        }
    }

    private readonly Table _data = new();
    private readonly Table _child = new();

    /// <summary>Registers a watch: <see cref="WatchKind.Data"/> for getData/exists, <see cref="WatchKind.Child"/> for getChildren,
    /// the persistent kinds for addWatch (they go into both tables, as ZooKeeper's addWatch does).</summary>
    public void AddWatch(long sessionId, string path, WatchKind kind)
    {
        switch (kind)
        {
            case WatchKind.Data:
                _data.Add(sessionId, path, Mode.Standard);
                break;
            case WatchKind.Child:
                _child.Add(sessionId, path, Mode.Standard);
                break;
            case WatchKind.Persistent:
                _child.Add(sessionId, path, Mode.Persistent);
                _data.Add(sessionId, path, Mode.Persistent);
                break;
            case WatchKind.PersistentRecursive:
                _child.Add(sessionId, path, Mode.PersistentRecursive);
                _data.Add(sessionId, path, Mode.PersistentRecursive);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(kind), kind, "unknown watch kind");
        }
    }

    /// <summary>Registers an addWatch request's watch.</summary>
    public void AddWatch(long sessionId, string path, AddWatchMode mode) =>
        AddWatch(sessionId, path, mode == AddWatchMode.PersistentRecursive ? WatchKind.PersistentRecursive : WatchKind.Persistent);

    /// <summary>
    /// Fires one trigger from <see cref="ApplyResult.Triggers"/> and returns the events to send, removing one-shot watches that
    /// fired. When <paramref name="authIdsOf"/> is given, a session without READ permission on <see cref="WatchTrigger.Acl"/>
    /// does not receive the event (its one-shot watch is still consumed, as in ZooKeeper 3.8).
    /// </summary>
    public IReadOnlyList<WatchDelivery> Trigger(in WatchTrigger trigger, Func<long, IReadOnlyList<Id>>? authIdsOf = null)
    {
        // Most writes fire nothing: answer that without allocating.
        bool mayFire = trigger.Type switch
        {
            EventType.NodeCreated or EventType.NodeDataChanged => _data.MayFire(trigger.Path),
            EventType.NodeChildrenChanged => _child.MayFire(trigger.Path),
            EventType.NodeDeleted => _data.MayFire(trigger.Path) || _child.MayFire(trigger.Path),
            _ => false,
        };
        if (!mayFire)
        {
            return [];
        }

        var fired = new List<long>();
        var seen = new HashSet<long>();
        switch (trigger.Type)
        {
            case EventType.NodeCreated:
            case EventType.NodeDataChanged:
                _data.Trigger(trigger.Path, trigger.Type, fired, seen, null);
                break;
            case EventType.NodeChildrenChanged:
                _child.Trigger(trigger.Path, trigger.Type, fired, seen, null);
                break;
            case EventType.NodeDeleted:
                _data.Trigger(trigger.Path, trigger.Type, fired, seen, null);
                var suppress = new HashSet<long>(fired);
                _child.Trigger(trigger.Path, trigger.Type, fired, seen, suppress);
                break;
            default:
                return [];
        }

        if (fired.Count == 0)
        {
            return [];
        }

        var ev = new WatcherEvent(trigger.Type, KeeperState.SyncConnected, trigger.Path);
        var result = new List<WatchDelivery>(fired.Count);
        foreach (long s in fired)
        {
            if (authIdsOf is null || AclChecker.Check(trigger.Acl, Perms.Read, authIdsOf(s)))
            {
                result.Add(new WatchDelivery(s, ev));
            }
        }

        return result;
    }

    /// <summary>Fires every trigger of an apply result in order and concatenates the deliveries.</summary>
    public IReadOnlyList<WatchDelivery> TriggerAll(IReadOnlyList<WatchTrigger> triggers, Func<long, IReadOnlyList<Id>>? authIdsOf = null)
    {
        if (triggers.Count == 0)
        {
            return [];
        }

        List<WatchDelivery>? all = null;
        foreach (WatchTrigger t in triggers)
        {
            IReadOnlyList<WatchDelivery> some = Trigger(t, authIdsOf);
            if (some.Count > 0)
            {
                (all ??= []).AddRange(some);
            }
        }

        return all is null ? [] : all;
    }

    /// <summary>
    /// removeWatches: Children removes the session's one-shot child watch, Data its one-shot data watch, Any every watch of
    /// any mode at the path; Persistent / PersistentRecursive (3.9 types) remove that persistent watch.
    /// Returns <see cref="ErrorCode.NoWatcher"/> when nothing was removed.
    /// </summary>
    public ErrorCode RemoveWatches(long sessionId, string path, WatcherType type)
    {
        bool removed = type switch
        {
            WatcherType.Children => _child.Remove(sessionId, path, null),
            WatcherType.Data => _data.Remove(sessionId, path, null),
            WatcherType.Any => _child.Remove(sessionId, path, null) | _data.Remove(sessionId, path, null),
            WatcherType.Persistent => _child.Remove(sessionId, path, Mode.Persistent) | _data.Remove(sessionId, path, Mode.Persistent),
            WatcherType.PersistentRecursive => _child.Remove(sessionId, path, Mode.PersistentRecursive) | _data.Remove(sessionId, path, Mode.PersistentRecursive),
            _ => false,
        };
        return removed ? ErrorCode.Ok : ErrorCode.NoWatcher;
    }

    /// <summary>checkWatches: <see cref="ErrorCode.Ok"/> when the session has a watch of that type at the path, else NoWatcher.</summary>
    public ErrorCode CheckWatches(long sessionId, string path, WatcherType type)
    {
        bool has = type switch
        {
            WatcherType.Children => _child.Contains(sessionId, path, null),
            WatcherType.Data => _data.Contains(sessionId, path, null),
            WatcherType.Any => _child.Contains(sessionId, path, null) || _data.Contains(sessionId, path, null),
            WatcherType.Persistent => _data.Contains(sessionId, path, Mode.Persistent),
            WatcherType.PersistentRecursive => _data.Contains(sessionId, path, Mode.PersistentRecursive),
            _ => false,
        };
        return has ? ErrorCode.Ok : ErrorCode.NoWatcher;
    }

    /// <summary>Drops every watch of a session (its connection closed or it expired).</summary>
    public void RemoveSession(long sessionId)
    {
        _data.RemoveSession(sessionId);
        _child.RemoveSession(sessionId);
    }

    /// <summary>
    /// Re-registers watches after a reconnect (<c>DataTree.setWatches</c>) and returns the events due at once: a data watch on
    /// a missing node → NodeDeleted, on a node changed after <paramref name="relativeZxid"/> (mzxid) → NodeDataChanged; an
    /// exist watch on a node that exists → NodeCreated; a child watch on a missing node → NodeDeleted, on a node whose
    /// children changed after it (pzxid) → NodeChildrenChanged; otherwise the watch is registered. Persistent and recursive
    /// watches are registered without catch-up events.
    /// </summary>
    public IReadOnlyList<WatchDelivery> SetWatches(long sessionId, long relativeZxid, ZnodeTree tree,
        IReadOnlyList<string> dataWatches, IReadOnlyList<string> existWatches, IReadOnlyList<string> childWatches,
        IReadOnlyList<string>? persistentWatches = null, IReadOnlyList<string>? persistentRecursiveWatches = null)
    {
        var result = new List<WatchDelivery>();
        foreach (string path in dataWatches)
        {
            if (!tree.TryGetStat(path, out Stat stat))
            {
                result.Add(Event(EventType.NodeDeleted, path));
            }
            else if (stat.Mzxid > relativeZxid)
            {
                result.Add(Event(EventType.NodeDataChanged, path));
            }
            else
            {
                _data.Add(sessionId, path, Mode.Standard);
            }
        }

        foreach (string path in existWatches)
        {
            if (tree.Exists(path))
            {
                result.Add(Event(EventType.NodeCreated, path));
            }
            else
            {
                _data.Add(sessionId, path, Mode.Standard);
            }
        }

        foreach (string path in childWatches)
        {
            if (!tree.TryGetStat(path, out Stat stat))
            {
                result.Add(Event(EventType.NodeDeleted, path));
            }
            else if (stat.Pzxid > relativeZxid)
            {
                result.Add(Event(EventType.NodeChildrenChanged, path));
            }
            else
            {
                _child.Add(sessionId, path, Mode.Standard);
            }
        }

        foreach (string path in persistentWatches ?? [])
        {
            AddWatch(sessionId, path, WatchKind.Persistent);
        }

        foreach (string path in persistentRecursiveWatches ?? [])
        {
            AddWatch(sessionId, path, WatchKind.PersistentRecursive);
        }

        return result;

        WatchDelivery Event(EventType type, string path) => new(sessionId, new WatcherEvent(type, KeeperState.SyncConnected, path));
    }

    /// <summary>Total watches over both tables (ZooKeeper's mntr <c>zk_watch_count</c>: data + child).</summary>
    public int WatchCount => CountEntries(_data) + CountEntries(_child);

    /// <summary>Watches in the data table only: the "Total watches" of wchs (ZooKeeper's <c>DataTree.dumpWatchesSummary</c>
    /// reports the data watch manager only).</summary>
    public int DataWatchCount => CountEntries(_data);

    /// <summary>Distinct paths in the data table (wchs "watching N paths", data table only as in ZooKeeper).</summary>
    public int WatchedPathCount => _data.ByPath.Count;

    /// <summary>Sessions with a watch in the data table (wchs "N connections", data table only as in ZooKeeper).</summary>
    public int WatchingSessionCount => _data.BySession.Count;

    private static int CountEntries(Table t)
    {
        int n = 0;
        foreach (HashSet<string> p in t.BySession.Values)
        {
            n += p.Count;
        }

        return n;
    }

    /// <summary>For wchc: each watching session with its watched paths, sorted. Like ZooKeeper (<c>DataTree.dumpWatches</c>)
    /// only the data table is listed unless <paramref name="includeChildWatches"/> is set.</summary>
    public IReadOnlyList<(long SessionId, IReadOnlyList<string> Paths)> WatchesBySession(bool includeChildWatches = false)
    {
        var map = new SortedDictionary<long, SortedSet<string>>();
        foreach (Table t in includeChildWatches ? new[] { _data, _child } : [_data])
        {
            foreach ((long s, HashSet<string> paths) in t.BySession)
            {
                if (!map.TryGetValue(s, out SortedSet<string>? set))
                {
                    set = new SortedSet<string>(StringComparer.Ordinal);
                    map[s] = set;
                }

                set.UnionWith(paths);
            }
        }

        var result = new List<(long, IReadOnlyList<string>)>(map.Count);
        foreach ((long s, SortedSet<string> paths) in map)
        {
            result.Add((s, [.. paths]));
        }

        return result;
    }

    /// <summary>For wchp: each watched path with its watching sessions, sorted. Like ZooKeeper only the data table is listed
    /// unless <paramref name="includeChildWatches"/> is set.</summary>
    public IReadOnlyList<(string Path, IReadOnlyList<long> SessionIds)> WatchesByPath(bool includeChildWatches = false)
    {
        var map = new SortedDictionary<string, SortedSet<long>>(StringComparer.Ordinal);
        foreach (Table t in includeChildWatches ? new[] { _data, _child } : [_data])
        {
            foreach ((string p, SortedDictionary<long, Mode> sessions) in t.ByPath)
            {
                if (!map.TryGetValue(p, out SortedSet<long>? set))
                {
                    set = [];
                    map[p] = set;
                }

                set.UnionWith(sessions.Keys);
            }
        }

        var result = new List<(string, IReadOnlyList<long>)>(map.Count);
        foreach ((string p, SortedSet<long> s) in map)
        {
            result.Add((p, [.. s]));
        }

        return result;
    }
}
