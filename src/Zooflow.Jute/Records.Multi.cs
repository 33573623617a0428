using Zooflow.Common;

namespace Zooflow.Jute;

// Codecs for multi / multiRead, following ZooKeeper's MultiOperationRecord and MultiResponse:
//   multi-request  = *(MultiHeader(type, done=false, err=-1) op-body) MultiHeader(-1, true, -1)
//   multi-response = *(MultiHeader(type, done=false, err) result-body) MultiHeader(-1, true, -1)

public sealed partial record MultiRequest : IJuteRecord<MultiRequest>
{
    // The smallest operation is a header (9 bytes) plus a check/delete body (ustring + int = 8 bytes); used only to bound
    // the initial list capacity, the loop itself is bounded by the bytes in the frame.
    private const int MinOpBytes = 17;

    /// <summary>
    /// Reads operations until the header with done = true, decoding each body by its header's opcode:
    /// create/create2/createContainer → <see cref="CreateRequest"/>, createTTL → <see cref="CreateTtlRequest"/>,
    /// delete → <see cref="DeleteRequest"/>, setData → <see cref="SetDataRequest"/>, check → <see cref="CheckVersionRequest"/>,
    /// getChildren → <see cref="GetChildrenRequest"/>, getData → <see cref="GetDataRequest"/>.
    /// </summary>
    /// <exception cref="ProtocolException">Any other opcode, or malformed/truncated bodies.</exception>
    public static MultiRequest Read(ref JuteReader reader)
    {
        var ops = new List<MultiOp>((int)Math.Min(reader.Remaining / MinOpBytes, 16));
        while (true)
        {
            var offset = reader.Consumed;
            var header = MultiHeader.Read(ref reader);
            if (header.Done)
            {
                return new MultiRequest(ops);
            }

            object request = header.Type switch
            {
                OpCode.Create or OpCode.Create2 or OpCode.CreateContainer => CreateRequest.Read(ref reader),
                OpCode.CreateTtl => CreateTtlRequest.Read(ref reader),
                OpCode.Delete => DeleteRequest.Read(ref reader),
                OpCode.SetData => SetDataRequest.Read(ref reader),
                OpCode.Check => CheckVersionRequest.Read(ref reader),
                OpCode.GetChildren => GetChildrenRequest.Read(ref reader),
                OpCode.GetData => GetDataRequest.Read(ref reader),
                _ => JuteThrow.UnexpectedType<object>("MultiRequest.op.type", offset, (int)header.Type),
            };
            ops.Add(new MultiOp(header.Type, request));
        }
    }

    /// <summary>Writes each op as header (type, false, -1) + body, then the end header (-1, true, -1).</summary>
    /// <exception cref="ArgumentException">An op's request record does not match its opcode.</exception>
    public void Write(ref JuteWriter writer)
    {
        for (var i = 0; i < Ops.Count; i++)
        {
            var op = Ops[i];
            var matches = op.Type switch
            {
                OpCode.Create or OpCode.Create2 or OpCode.CreateContainer => op.Request is CreateRequest,
                OpCode.CreateTtl => op.Request is CreateTtlRequest,
                OpCode.Delete => op.Request is DeleteRequest,
                OpCode.SetData => op.Request is SetDataRequest,
                OpCode.Check => op.Request is CheckVersionRequest,
                OpCode.GetChildren => op.Request is GetChildrenRequest,
                OpCode.GetData => op.Request is GetDataRequest,
                _ => false,
            };
            if (!matches)
            {
                ThrowHelper.ThrowArgument(nameof(Ops), $"multi op {i}: {op.Type} cannot carry a {op.Request?.GetType().Name ?? "null"}");
            }

            new MultiHeader(op.Type, false, (ErrorCode)(-1)).Write(ref writer);
            ((IJuteWritable)op.Request).Write(ref writer);
        }

        new MultiHeader(OpCode.Error, true, (ErrorCode)(-1)).Write(ref writer);
    }
}

public sealed partial record MultiResponse : IJuteRecord<MultiResponse>
{
    private const int MinResultBytes = 9;

    /// <summary>
    /// Reads results until the header with done = true. Bodies by header type: create → <see cref="CreateResponse"/>;
    /// create2/createContainer/createTTL → <see cref="Create2Response"/>; setData → <see cref="StatResponse"/>;
    /// delete/check → none (null); getChildren → <see cref="GetChildrenResponse"/>; getData → <see cref="GetDataResponse"/>;
    /// error → <see cref="ErrorResponse"/>.
    /// </summary>
    public static MultiResponse Read(ref JuteReader reader)
    {
        var results = new List<MultiResult>((int)Math.Min(reader.Remaining / MinResultBytes, 16));
        while (true)
        {
            var offset = reader.Consumed;
            var header = MultiHeader.Read(ref reader);
            if (header.Done)
            {
                return new MultiResponse(results);
            }

            object? body = header.Type switch
            {
                OpCode.Create => CreateResponse.Read(ref reader),
                OpCode.Create2 or OpCode.CreateContainer or OpCode.CreateTtl => Create2Response.Read(ref reader),
                OpCode.Delete or OpCode.Check => null,
                OpCode.SetData => StatResponse.Read(ref reader),
                OpCode.GetChildren => GetChildrenResponse.Read(ref reader),
                OpCode.GetData => GetDataResponse.Read(ref reader),
                OpCode.Error => ErrorResponse.Read(ref reader),
                _ => JuteThrow.UnexpectedType<object>("MultiResponse.result.type", offset, (int)header.Type),
            };
            results.Add(new MultiResult(header.Type, header.Err, body));
        }
    }

    /// <summary>
    /// Writes each result as header (type, false, err) + body, then the end header (-1, true, -1), byte for byte as
    /// ZooKeeper's <c>MultiResponse.serialize</c>: the header's err is the error code for error results and 0 otherwise.
    /// </summary>
    /// <remarks>ZooKeeper reports every successful create that returns a Stat as <c>create2</c> (its <c>CreateResult</c>
    /// type), and its clients reject opcodes 19/21 in a multi response, so results typed createContainer or createTTL are
    /// written with header type create2.</remarks>
    /// <exception cref="ArgumentException">A result's body does not match its type.</exception>
    public void Write(ref JuteWriter writer)
    {
        for (var i = 0; i < Results.Count; i++)
        {
            var result = Results[i];
            var type = result.Type is OpCode.CreateContainer or OpCode.CreateTtl ? OpCode.Create2 : result.Type;
            switch (type)
            {
                case OpCode.Create when result.Response is CreateResponse create:
                    new MultiHeader(type, false, ErrorCode.Ok).Write(ref writer);
                    create.Write(ref writer);
                    break;
                case OpCode.Create2 when result.Response is Create2Response create2:
                    new MultiHeader(type, false, ErrorCode.Ok).Write(ref writer);
                    create2.Write(ref writer);
                    break;
                case OpCode.Delete or OpCode.Check:
                    new MultiHeader(type, false, ErrorCode.Ok).Write(ref writer);
                    break;
                case OpCode.SetData when result.Response is StatResponse stat:
                    new MultiHeader(type, false, ErrorCode.Ok).Write(ref writer);
                    stat.Write(ref writer);
                    break;
                case OpCode.GetChildren when result.Response is GetChildrenResponse children:
                    new MultiHeader(type, false, ErrorCode.Ok).Write(ref writer);
                    children.Write(ref writer);
                    break;
                case OpCode.GetData when result.Response is GetDataResponse data:
                    new MultiHeader(type, false, ErrorCode.Ok).Write(ref writer);
                    data.Write(ref writer);
                    break;
                case OpCode.Error:
                    var err = result.Response is ErrorResponse error ? error.Err : result.Err;
                    new MultiHeader(type, false, err).Write(ref writer);
                    writer.WriteInt((int)err);
                    break;
                default:
                    ThrowHelper.ThrowArgument(nameof(Results),
                        $"multi result {i}: {result.Type} cannot carry a {result.Response?.GetType().Name ?? "null"}");
                    break;
            }
        }

        new MultiHeader(OpCode.Error, true, (ErrorCode)(-1)).Write(ref writer);
    }
}
