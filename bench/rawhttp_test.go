package bench

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"time"
)

// rawClient is a load generator's HTTP/1.1 client, as lean as wrk's: one
// kept-alive connection, each request written in one write, the response
// read with net/http's own parser. net/http's Transport spends about as
// much CPU on a request as the server does (a reader and a writer
// goroutine per connection and the handoffs between them); on two cores
// that is capacity taken from the server under test, so the benchmarks
// report both clients.
type rawClient struct {
	addr string
	conn net.Conn
	br   *bufio.Reader
	buf  []byte
}

func newRawClient(addr string) *rawClient { return &rawClient{addr: addr} }

// post sends body to path with the extra header lines (each ending in
// \r\n) and returns the status and the response body.
func (c *rawClient) post(path, header string, body []byte) (int, []byte, error) {
	if c.conn == nil {
		conn, err := net.DialTimeout("tcp", c.addr, 10*time.Second)
		if err != nil {
			return 0, nil, err
		}
		c.conn, c.br = conn, bufio.NewReaderSize(conn, 4096)
	}
	c.buf = append(c.buf[:0], "POST "...)
	c.buf = append(c.buf, path...)
	c.buf = append(c.buf, " HTTP/1.1\r\nHost: "...)
	c.buf = append(c.buf, c.addr...)
	c.buf = append(c.buf, "\r\nContent-Type: application/json\r\nContent-Length: "...)
	c.buf = strconv.AppendInt(c.buf, int64(len(body)), 10)
	c.buf = append(c.buf, "\r\n"...)
	c.buf = append(c.buf, header...)
	c.buf = append(c.buf, "\r\n"...)
	c.buf = append(c.buf, body...)
	c.conn.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := c.conn.Write(c.buf); err != nil {
		c.close()
		return 0, nil, err
	}
	resp, err := http.ReadResponse(c.br, nil)
	if err != nil {
		c.close()
		return 0, nil, err
	}
	out, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.Close {
		c.close()
	}
	if err != nil {
		return 0, nil, fmt.Errorf("POST %s: reading the body: %w", path, err)
	}
	return resp.StatusCode, out, nil
}

func (c *rawClient) close() {
	if c.conn != nil {
		c.conn.Close()
		c.conn = nil
	}
}
