using System.Globalization;
using Zooflow.DataTree;
using Zooflow.Jute;

namespace Zooflow.Benchmarks;

/// <summary>
/// The create load of <c>zooflow bench --op create</c> as the tree sees it: persistent sequential children
/// <c>/zooflow-bench/run-XXXXXXXX/sN/c-0000000123</c> of four session roots, 100-byte values, and an ACL that every
/// request decodes afresh (so sharing equal ACLs is measured, not assumed).
/// </summary>
internal sealed class CreateLoad
{
    public const string RunRoot = "/zooflow-bench/run-1a2b3c4d";
    private readonly ZnodeTree _tree;
    private readonly int[] _cversion;
    private long _zxid;

    public CreateLoad(ZnodeTree tree, int sessions = 4)
    {
        _tree = tree;
        _cversion = new int[sessions];
        Create("/zooflow-bench", -1);
        Create(RunRoot, -1);
        for (var i = 0; i < sessions; i++)
        {
            Create(SessionRoot(i), -1);
        }
    }

    public ZnodeTree Tree => _tree;

    public static string SessionRoot(int session) => RunRoot + "/s" + session.ToString(CultureInfo.InvariantCulture);

    /// <summary>The request's data and ACL as the connection would decode them: fresh objects per request.</summary>
    public static (byte[] Data, List<Acl> Acl) DecodedRequestParts(int valueSize = 100) =>
        (new byte[valueSize], [new Acl(Perms.All, new Id(new string("world".AsSpan()), new string("anyone".AsSpan())))]);

    /// <summary>Applies the next sequential create of <paramref name="session"/>, as prep would have prepared it.</summary>
    public ApplyResult CreateNext(int session)
    {
        var seq = _cversion[session]++;
        var path = SessionRoot(session) + "/c-" + seq.ToString("D10", CultureInfo.InvariantCulture);
        var (data, acl) = DecodedRequestParts();
        return _tree.Apply(new TxnHeader(0x1000 + session, seq, ++_zxid, 1_700_000_000_000 + _zxid, OpCode.Create2),
            new CreateTxn(path, data, acl, false, seq + 1));
    }

    private void Create(string path, int parentCversion) =>
        _tree.Apply(new TxnHeader(1, 0, ++_zxid, 1_700_000_000_000, OpCode.Create), new CreateTxn(path, [], Acl.OpenAclUnsafe, false, parentCversion));
}
