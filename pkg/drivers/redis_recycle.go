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

package drivers

import (
	"context"
	"fmt"
	"maps"
	"strconv"

	"github.com/redis/go-redis/v9"
	"github.com/redis/go-redis/v9/maintnotifications"
)

var _ Recycler = (*Redis)(nil)

// Recycle implements Recycler: FLUSHDB, or EVAL of the action's Lua script,
// in the member's database (its db attribute; see RedisSlotMember for one
// database per slot).
func (d *Redis) Recycle(ctx context.Context, m Member, c Credentials, slot int, a RecycleAction) error {
	return recycleIn(ctx, d.Name(), m, c, slot, d.target, func(ctx context.Context, t redisTarget, password string) error {
		timeout := recycleTimeout(ctx)
		opts := &redis.Options{
			Addr: t.hostPort(), Username: t.user, Password: password, DB: t.db,
			DialTimeout: timeout, ReadTimeout: timeout, WriteTimeout: timeout, ContextTimeoutEnabled: true,
			MaxRetries: -1, PoolSize: 1, PoolTimeout: timeout, DisableIdentity: true,
			MaintNotificationsConfig: &maintnotifications.Config{Mode: maintnotifications.ModeDisabled},
		}
		if t.tls {
			opts.TLSConfig = clientTLS(t.Host, t.skipVerify)
		}
		client := redis.NewClient(opts)
		defer func() { _ = client.Close() }()
		if a.RedisScript != "" {
			if err := client.Eval(ctx, a.RedisScript, nil).Err(); err != nil && err != redis.Nil {
				return fmt.Errorf("the recycle script failed in database %d: %w", t.db, err)
			}
			return nil
		}
		if err := client.FlushDB(ctx).Err(); err != nil {
			return fmt.Errorf("FLUSHDB of database %d failed: %w", t.db, err)
		}
		return nil
	})
}

// RedisSlotMember is m as slot sees it when each slot has its own database:
// its db attribute is the member's database number plus slot.
func RedisSlotMember(m Member, slot int) (Member, error) {
	t, err := NewRedis().target(m, Credentials{})
	if err != nil {
		return Member{}, err
	}
	out := m
	out.Attributes = maps.Clone(m.Attributes)
	if out.Attributes == nil {
		out.Attributes = map[string]string{}
	}
	out.Attributes["db"] = strconv.Itoa(t.db + slot)
	return out, nil
}
