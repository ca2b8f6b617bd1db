//go:build !js

// The native front end: the engine as a process beside the webhook (policy/src/kcel-native.ts),
// one call at a time over stdin and stdout in frames:
//
//	request:  u32 length | u32 id | u8 op | per argument: u32 length, bytes
//	answer:   u32 length | u32 id | JSON
//
// (lengths and ids big-endian; a length counts what follows it). Operations: 'c' configure(schemas),
// 'k' check(expression, kind, env), 'e' evaluate(inputs, plan, budgetMs), 'r' retain(keys). Once
// ready, the process answers id 0 with its limits. It ends when its input closes or its parent
// dies, so it never outlives the webhook that started it.
package main

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"os"
	"strconv"
)

func args(frame []byte) ([][]byte, error) {
	var out [][]byte
	for len(frame) > 0 {
		if len(frame) < 4 {
			return nil, fmt.Errorf("truncated argument length")
		}
		n := binary.BigEndian.Uint32(frame)
		frame = frame[4:]
		if uint64(n) > uint64(len(frame)) {
			return nil, fmt.Errorf("argument of %d bytes in a frame of %d", n, len(frame))
		}
		out = append(out, frame[:n])
		frame = frame[n:]
	}
	return out, nil
}

func call(op byte, a [][]byte) []byte {
	need := map[byte]int{'c': 1, 'k': 3, 'e': 3, 'r': 1}[op]
	if need == 0 {
		return reply(map[string]any{"error": fmt.Sprintf("no such operation %q", op)})
	}
	if len(a) != need {
		return reply(map[string]any{"error": fmt.Sprintf("operation %q takes %d arguments, got %d", op, need, len(a))})
	}
	switch op {
	case 'c':
		return configure(a[0])
	case 'k':
		return check(string(a[0]), string(a[1]), string(a[2]))
	case 'e':
		budget, err := strconv.ParseFloat(string(a[2]), 64)
		if err != nil {
			return reply(map[string]any{"error": "budgetMs: " + err.Error()})
		}
		return evaluate(a[0], a[1], budget)
	default:
		return retain(a[0])
	}
}

func write(w *bufio.Writer, id uint32, payload []byte) error {
	var h [8]byte
	binary.BigEndian.PutUint32(h[:4], uint32(4+len(payload)))
	binary.BigEndian.PutUint32(h[4:], id)
	if _, err := w.Write(h[:]); err != nil {
		return err
	}
	if _, err := w.Write(payload); err != nil {
		return err
	}
	return w.Flush()
}

func serve(in io.Reader, out io.Writer) error {
	r := bufio.NewReaderSize(in, 1<<16)
	w := bufio.NewWriterSize(out, 1<<16)
	if err := write(w, 0, limits()); err != nil {
		return err
	}
	var head [4]byte
	for {
		if _, err := io.ReadFull(r, head[:]); err != nil {
			if err == io.EOF {
				return nil
			}
			return err
		}
		n := binary.BigEndian.Uint32(head[:])
		if n < 5 {
			return fmt.Errorf("frame of %d bytes: an id and an operation take 5", n)
		}
		frame := make([]byte, n)
		if _, err := io.ReadFull(r, frame); err != nil {
			return err
		}
		id := binary.BigEndian.Uint32(frame)
		a, err := args(frame[5:])
		var answer []byte
		if err != nil {
			answer = reply(map[string]any{"error": err.Error()})
		} else {
			answer = call(frame[4], a)
		}
		if err := write(w, id, answer); err != nil {
			return err
		}
	}
}

func main() {
	dieWithParent()
	setup()
	if err := serve(os.Stdin, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "kcel:", err)
		os.Exit(1)
	}
}
