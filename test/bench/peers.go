/*
Copyright 2026 The nebula-resource Authors.

Licensed under the Apache License, Version 2.0 (the "License");
you may not use this file except in compliance with the License.
You may obtain a copy of the License at

    http://www.apache.org/licenses/LICENSE-2.0

Unless required by applicable law or agreed to in writing, software
distributed under the License is distributed on an "AS IS" BASIS,
WITHOUT WARRANTIES OR CONDITIONS OF ANY KIND, either express or implied.
See the License for the specific language governing permissions and
limitations under the License.
*/

package bench

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"

	"github.com/jackc/puddle/v2"
	"vitess.io/vitess/go/pools/smartconnpool"
)

// ---- github.com/jackc/puddle/v2 ----

type puddlePool struct{ p *puddle.Pool[*Conn] }

func newPuddle(f *Factory, size int) (Pool, error) {
	p, err := puddle.NewPool(&puddle.Config[*Conn]{
		Constructor: f.Create,
		Destructor:  f.Destroy,
		MaxSize:     int32(size),
	})
	if err != nil {
		return nil, fmt.Errorf("failed to create puddle pool: %w", err)
	}
	for range size {
		if err := p.CreateResource(context.Background()); err != nil {
			p.Close()
			return nil, fmt.Errorf("failed to pre-warm puddle pool: %w", err)
		}
	}
	return &puddlePool{p: p}, nil
}

func (a *puddlePool) Do(ctx context.Context, fn func(*Conn)) error {
	res, err := a.p.Acquire(ctx)
	if err != nil {
		return err
	}
	fn(res.Value())
	res.Release()
	return nil
}

func (a *puddlePool) Close() { a.p.Close() }

// ---- vitess.io/vitess/go/pools/smartconnpool ----

// sccConn makes Conn a smartconnpool.Connection (no settings are used).
type sccConn struct {
	c *Conn
	f *Factory
}

func (s *sccConn) ApplySetting(context.Context, *smartconnpool.Setting) error { return nil }
func (s *sccConn) ResetSetting(context.Context) error                         { return nil }
func (s *sccConn) Setting() *smartconnpool.Setting                            { return nil }
func (s *sccConn) IsClosed() bool                                             { return s.c.Closed() }
func (s *sccConn) Close()                                                     { s.f.Destroy(s.c) }

type smartConnPool struct {
	p *smartconnpool.ConnPool[*sccConn]
}

func newSmartConnPool(f *Factory, size int) (Pool, error) {
	p := smartconnpool.NewPool(&smartconnpool.Config[*sccConn]{
		Capacity:     int64(size),
		MaxIdleCount: int64(size),
	})
	p.Open(func(ctx context.Context) (*sccConn, error) {
		c, err := f.Create(ctx)
		if err != nil {
			return nil, err
		}
		return &sccConn{c: c, f: f}, nil
	}, nil)
	a := &smartConnPool{p: p}
	// smartconnpool opens connections lazily: fill it before any timer.
	if err := prewarm(a, size); err != nil {
		p.Close()
		return nil, err
	}
	return a, nil
}

func (a *smartConnPool) Do(ctx context.Context, fn func(*Conn)) error {
	pc, err := a.p.Get(ctx, nil)
	if err != nil {
		return err
	}
	fn(pc.Conn.c)
	pc.Recycle()
	return nil
}

func (a *smartConnPool) Close() { a.p.Close() }

// ---- database/sql with a no-op driver ----

// sqlConnector is a driver.Connector whose connections do nothing but carry a
// Conn, so database/sql's pool is all that is measured.
type sqlConnector struct{ f *Factory }

func (s sqlConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c, err := s.f.Create(ctx)
	if err != nil {
		return nil, err
	}
	return &sqlDriverConn{c: c, f: s.f}, nil
}

func (s sqlConnector) Driver() driver.Driver { return sqlDriver{s} }

type sqlDriver struct{ c sqlConnector }

func (d sqlDriver) Open(string) (driver.Conn, error) { return d.c.Connect(context.Background()) }

type sqlDriverConn struct {
	c *Conn
	f *Factory
}

var errNoop = errors.New("bench: the no-op driver runs no statements")

func (s *sqlDriverConn) Prepare(string) (driver.Stmt, error) { return nil, errNoop }
func (s *sqlDriverConn) Close() error                        { s.f.Destroy(s.c); return nil }
func (s *sqlDriverConn) Begin() (driver.Tx, error)           { return nil, errNoop }

type sqlPool struct{ db *sql.DB }

func newSQL(f *Factory, size int) (Pool, error) {
	db := sql.OpenDB(sqlConnector{f: f})
	db.SetMaxOpenConns(size)
	db.SetMaxIdleConns(size)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	a := &sqlPool{db: db}
	if err := prewarm(a, size); err != nil {
		_ = db.Close()
		return nil, err
	}
	return a, nil
}

// Do takes a dedicated connection (db.Conn) and reaches the instance through
// Conn.Raw, database/sql's only way to the driver value; Close returns it.
func (a *sqlPool) Do(ctx context.Context, fn func(*Conn)) error {
	conn, err := a.db.Conn(ctx)
	if err != nil {
		return err
	}
	err = conn.Raw(func(dc any) error {
		fn(dc.(*sqlDriverConn).c)
		return nil
	})
	if cerr := conn.Close(); err == nil {
		err = cerr
	}
	return err
}

func (a *sqlPool) Close() { _ = a.db.Close() }
