package recovery

import (
	"bytes"
	"errors"
	"io"
	"testing"
)

// TestFillUnbiased feeds every byte value once: the 248 below limit must map
// to each Alphabet character exactly 8 times, and the 8 above must be skipped.
func TestFillUnbiased(t *testing.T) {
	all := make([]byte, 256)
	for i := range all {
		all[i] = byte(255 - i) // the rejected values come first
	}
	dst := make([]byte, limit)
	if err := fill(bytes.NewReader(append(all, make([]byte, 64)...)), dst); err != nil {
		t.Fatal(err)
	}
	counts := map[byte]int{}
	for _, c := range dst {
		counts[c]++
	}
	for i := 0; i < len(Alphabet); i++ {
		if counts[Alphabet[i]] != limit/len(Alphabet) {
			t.Errorf("character %q drawn %d times from one of each byte, want %d", Alphabet[i], counts[Alphabet[i]], limit/len(Alphabet))
		}
	}
}

func TestGenerateReaderError(t *testing.T) {
	if codes, err := generate(bytes.NewReader(make([]byte, 20))); !errors.Is(err, io.ErrUnexpectedEOF) && !errors.Is(err, io.EOF) || codes != nil {
		t.Errorf("generate(short reader) = %v, %v, want nil and an EOF error", codes, err)
	}
}

// TestGenerateRedrawsDuplicates: a source that repeats itself still yields
// Count distinct codes.
func TestGenerateRedrawsDuplicates(t *testing.T) {
	var src bytes.Buffer
	for i := 0; i < Count; i++ {
		chunk := bytes.Repeat([]byte{byte(i)}, 16) // fill reads 16 bytes for 12 characters
		src.Write(chunk)
		src.Write(chunk) // the same code again, which must be skipped
	}
	codes, err := generate(&src)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, c := range codes {
		if seen[c] || !Valid(c) {
			t.Errorf("generate = %q: %q repeated or invalid", codes, c)
		}
		seen[c] = true
	}
	if len(codes) != Count {
		t.Errorf("generate returned %d codes, want %d", len(codes), Count)
	}
}
