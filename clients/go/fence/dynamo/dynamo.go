// Package dynamo fences a controller's own state kept in DynamoDB: the same guarantee as
// the API server's fence (package fence), from DynamoDB's conditions.
//
// The fence of a lease is an item of the controller's state table (key attribute and
// value of the caller's choosing) whose attribute drleaseFence holds the highest epoch
// written. Raise lifts it with a conditional update that never lowers it. Put writes a
// state item in one transaction with a condition check on the fence item (its epoch no
// higher than the writer's) and a condition on the item itself (its stored epoch,
// attribute drleaseEpoch, no higher either): so a writer whose epoch is below the fence
// writes nothing, with no cache between the raise and its enforcement. A refused write
// returns a *StaleError.
//
// On a multi-region eventually consistent global table, conditions are checked against
// the region's own replica: the fence holds within a region at once, across regions once
// the raise has replicated (last writer wins can still land a lower epoch's write that
// was admitted in another region before the raise reached it).
package dynamo

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

const (
	// FenceAttribute holds the fence's epoch on the fence item.
	FenceAttribute = "drleaseFence"
	// EpochAttribute holds, on each state item, the epoch of the write that stored it.
	EpochAttribute = "drleaseEpoch"
)

// StaleError is a write refused because a newer holder of the lease has fenced this
// writer out: it must stop writing and ask its sidecar for a new window.
type StaleError struct {
	Table string
	Epoch uint64
}

func (e *StaleError) Error() string {
	return fmt.Sprintf("drlease fence: table %s: a write at epoch %d was refused, a newer holder raised the fence above it; stop writing and ask the sidecar for a new window", e.Table, e.Epoch)
}

// Fence is the fence item of one lease in one table.
type Fence struct {
	Client *dynamodb.Client
	Table  string
	// Key of the fence item (for example {"pk": S("fence#mylease")}).
	Key map[string]types.AttributeValue
}

func num(epoch uint64) types.AttributeValue {
	return &types.AttributeValueMemberN{Value: strconv.FormatUint(epoch, 10)}
}

// Raise makes the fence at least epoch. It returns a *StaleError when it is already
// higher.
func (f *Fence) Raise(ctx context.Context, epoch uint64) error {
	_, err := f.Client.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName:                 aws.String(f.Table),
		Key:                       f.Key,
		UpdateExpression:          aws.String("SET #f = :e"),
		ConditionExpression:       aws.String("attribute_not_exists(#f) OR #f <= :e"),
		ExpressionAttributeNames:  map[string]string{"#f": FenceAttribute},
		ExpressionAttributeValues: map[string]types.AttributeValue{":e": num(epoch)},
	})
	var failed *types.ConditionalCheckFailedException
	if errors.As(err, &failed) {
		return &StaleError{Table: f.Table, Epoch: epoch}
	}
	if err != nil {
		return fmt.Errorf("drlease fence: raising the fence in table %s: %w", f.Table, err)
	}
	return nil
}

// Put stores item (with its key attributes) at epoch, under the fence: in one
// transaction, the fence item's epoch must be no higher than epoch, and so must the
// epoch already stored on the item. It stamps the item's EpochAttribute.
func (f *Fence) Put(ctx context.Context, item map[string]types.AttributeValue, epoch uint64) error {
	stamped := make(map[string]types.AttributeValue, len(item)+1)
	for k, v := range item {
		stamped[k] = v
	}
	stamped[EpochAttribute] = num(epoch)
	_, err := f.Client.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{
		TransactItems: []types.TransactWriteItem{
			{ConditionCheck: &types.ConditionCheck{
				TableName:                 aws.String(f.Table),
				Key:                       f.Key,
				ConditionExpression:       aws.String("attribute_not_exists(#f) OR #f <= :e"),
				ExpressionAttributeNames:  map[string]string{"#f": FenceAttribute},
				ExpressionAttributeValues: map[string]types.AttributeValue{":e": num(epoch)},
			}},
			{Put: &types.Put{
				TableName:                 aws.String(f.Table),
				Item:                      stamped,
				ConditionExpression:       aws.String("attribute_not_exists(#s) OR #s <= :e"),
				ExpressionAttributeNames:  map[string]string{"#s": EpochAttribute},
				ExpressionAttributeValues: map[string]types.AttributeValue{":e": num(epoch)},
			}},
		},
	})
	var cancelled *types.TransactionCanceledException
	if errors.As(err, &cancelled) {
		for _, reason := range cancelled.CancellationReasons {
			if aws.ToString(reason.Code) == "ConditionalCheckFailed" {
				return &StaleError{Table: f.Table, Epoch: epoch}
			}
		}
	}
	if err != nil {
		return fmt.Errorf("drlease fence: writing to table %s at epoch %d: %w", f.Table, epoch, err)
	}
	return nil
}
